"""Write tests/data/ge2e_reference.npz: the torch GE2E encoder's outputs on a fixed signal.

Run by hand (needs torch and ``pip install --no-deps resemblyzer==0.1.4``)::

    python tests/make_ge2e_reference.py

The outputs come from resemblyzer's own ``VoiceEncoder`` (torch) and its own
preprocessing (``normalize_volume`` and ``wav_to_mel_spectrogram``), so that
tests/test_encoders.py checks the numpy encoder's exactness even where torch
is not installed. The signal is built from sines only (no random generator),
so it is the same on every machine and numpy version.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "ge2e_reference.npz"


def reference_signal() -> np.ndarray:
    """1.7 s of a gliding, amplitude-modulated harmonic tone with a buzz, at 16 kHz."""
    t = np.arange(int(1.7 * 16000)) / 16000
    f0 = 140 + 40 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 2.1 * t) ** 2
    buzz = 0.05 * np.sin(2 * np.pi * 3100 * t) * np.sin(2 * np.pi * 7 * t)
    return (0.05 * envelope * voice + buzz * 0.1).astype(np.float32)


def torch_frame_outputs(mel: np.ndarray) -> dict:
    """Per-frame outputs of each LSTM layer, the projection and the embedding, from torch."""
    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))  # unused; its import fails
    import torch
    from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder("cpu", verbose=False)
    state = encoder.lstm.state_dict()
    out = {}
    with torch.no_grad():
        x = torch.from_numpy(mel)[None]
        h = x
        for layer in range(3):
            single = torch.nn.LSTM(40 if layer == 0 else 256, 256, batch_first=True)
            single.load_state_dict(
                {k.replace(f"_l{layer}", "_l0"): v for k, v in state.items()
                 if k.endswith(f"_l{layer}")}
            )
            h, _ = single(h)
            out[layer + 1] = h[0].numpy()
        out["projection"] = torch.relu(encoder.linear(h))[0].numpy()
        out["embedding"] = encoder(x)[0].numpy()
    return out


def torch_preprocess(wav: np.ndarray) -> np.ndarray:
    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))
    from resemblyzer import normalize_volume, wav_to_mel_spectrogram

    return wav_to_mel_spectrogram(normalize_volume(wav, -30, increase_only=True))


def main() -> None:
    frames = torch_frame_outputs(torch_preprocess(reference_signal()))
    arrays = {
        "l1_mean": frames[1].mean(axis=0),
        "l2_mean": frames[2].mean(axis=0),
        "l2_std": frames[2].std(axis=0),
        "l3_mean": frames[3].mean(axis=0),
        "projection_mean": frames["projection"].mean(axis=0),
        "embedding": frames["embedding"],
    }
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **{k: v.astype(np.float32) for k, v in arrays.items()})
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
