"""Re-implementations of librosa internals, each equal to the librosa call it names.

Every function here mirrors one librosa operation and says which in its
docstring; ``tests/test_librosa_mirror.py`` compares each with librosa on
synthesized (and real) signals. They exist for three reasons:

speed
    librosa rebuilds filter banks on every call (mel, chroma, the CQT's
    per-octave bases), runs HPSS through ``scipy.ndimage.median_filter``,
    estimates tuning over the whole spectrogram and sparsifies with
    element-wise sparse assignment. The mirrors cache the banks once per
    process and compute only what the feature recipe reads: together about
    5x faster than calling each librosa feature on the waveform.
exactness
    Each mirror performs the same floating-point operations as librosa on
    the values it keeps (the median filter is an exact order statistic), so
    the features equal librosa's to float rounding, most of them bit for bit.
a light predict path
    :func:`resample` and :func:`trim_silence` run on every clip the
    :class:`~sklearn_ser.AudioLoader` reads. Importing librosa costs about a
    second, which a fresh process predicting one clip should not pay.

This module therefore imports only numpy, scipy and soxr when it is loaded:
librosa is imported inside the functions that call it, and numba when the
median filter is first used (:func:`_compiled_median_filter`).

Checked against librosa 0.11.0 (with numba 0.68, scipy 1.17 and soxr 1.1). Two of
librosa's private helpers are used where present, with a fallback where a
librosa version lacks them: :func:`parabolic_interpolation` and
:func:`relative_bandwidth`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse
import soxr

# chroma_cqt's defaults inside librosa.feature.tonnetz: 7 octaves of 36 bins from C1,
# resampled between octaves with soxr "HQ".
CQT_BINS_PER_OCTAVE = 36
CQT_OCTAVES = 7
CQT_RES_TYPE = "soxr_hq"


# -- loading: every clip goes through these (no librosa import) ----------------------
def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """``librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr)``: soxr "HQ", same length.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    ndarray of shape (ceil(n_samples * target_sr / orig_sr),), the dtype of ``y``
    """
    if orig_sr == target_sr:
        return y
    size = int(np.ceil(y.shape[-1] * float(target_sr) / orig_sr))
    out = fix_length(soxr.resample(y, orig_sr, target_sr, quality="soxr_hq"), size)
    return np.asarray(out, dtype=y.dtype)


def fix_length(y: np.ndarray, size: int) -> np.ndarray:
    """``librosa.util.fix_length(y, size=size)`` of a 1-D signal: cut, or zero-pad at the end."""
    y = y[:size]
    return np.pad(y, (0, size - y.shape[-1])) if y.shape[-1] < size else y


def trim_silence(
    y: np.ndarray, *, top_db: float, frame_length: int = 2048, hop_length: int = 512
) -> np.ndarray:
    """``librosa.effects.trim(y, top_db=top_db)[0]``: drop leading and trailing silence.

    A frame is silent when its RMS (centred, zero-padded frames) is more than
    ``top_db`` decibels below the loudest frame's.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    top_db : float
        Threshold in decibels below the peak frame.
    frame_length, hop_length : int
        RMS frames (librosa's defaults).

    Returns
    -------
    ndarray
        The part of ``y`` from the first to the last non-silent frame.
    """
    padded = np.pad(y, frame_length // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]
    power = np.mean(np.square(np.abs(frames)), axis=-1)
    rms = np.sqrt(power)
    # librosa.amplitude_to_db(rms, ref=np.max): power_to_db of rms**2 with amin=1e-10.
    db = 10.0 * np.log10(np.maximum(1e-10, np.square(rms))) - 10.0 * np.log10(
        np.maximum(1e-10, np.square(np.max(rms)))
    )
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return y[:0]
    return y[int(loud[0]) * hop_length : min(y.shape[-1], (int(loud[-1]) + 1) * hop_length)]


# -- spectrogram features, with their filter banks built once per process -----------
@functools.lru_cache(maxsize=16)
def mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``, cached."""
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


@functools.lru_cache(maxsize=256)
def chroma_filters(sr: int, n_fft: int, tuning: float) -> np.ndarray:
    """``librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning)``, cached.

    The tuning estimate takes one of ~100 values (1/100-bin resolution), so
    the cache fills up rather than thrashing.
    """
    import librosa

    return librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=12)


def mel_power(power: np.ndarray, *, sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.feature.melspectrogram(S=power)`` with a cached filter bank."""
    return np.einsum("...ft,mf->...mt", power, mel_filters(sr, n_fft, n_mels), optimize=True)


def chroma_stft(power: np.ndarray, *, sr: int, n_fft: int, tuning: float) -> np.ndarray:
    """``librosa.feature.chroma_stft(S=power)`` given its tuning, with a cached filter bank."""
    import librosa

    raw = np.einsum("cf,...ft->...ct", chroma_filters(sr, n_fft, tuning), power, optimize=True)
    return librosa.util.normalize(raw, norm=np.inf, axis=-2)


# -- tuning estimation --------------------------------------------------------------
@functools.cache
def parabolic_interpolation() -> Callable | None:
    """librosa's private ``piptrack`` peak interpolation, or None where this librosa lacks it."""
    try:
        from librosa.core.pitch import _parabolic_interpolation
    except ImportError:  # pragma: no cover - depends on the librosa version
        return None
    return _parabolic_interpolation


def estimate_tuning(spectrogram: np.ndarray, *, sr: int, bins_per_octave: int) -> float:
    """``librosa.estimate_tuning(S=spectrogram, sr=sr, bins_per_octave=...)``, on the bins it reads.

    ``piptrack`` interpolates peaks over the whole spectrogram and then keeps
    those between 150 Hz and 4 kHz; the same element-wise operations on just
    those bins (plus one neighbour each side) select the same peaks with the
    same values, about a third of the work.
    """
    import librosa

    n_fft = 2 * (spectrogram.shape[-2] - 1)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    rows = np.flatnonzero((150.0 <= freqs) & (freqs < min(4000.0, sr / 2)))
    interpolate = parabolic_interpolation()
    if interpolate is None or rows.size == 0 or rows[0] == 0 or rows[-1] == freqs.size - 1:
        return float(librosa.estimate_tuning(S=spectrogram, sr=sr,
                                             bins_per_octave=bins_per_octave))
    lo, hi = rows[0] - 1, rows[-1] + 2  # one neighbour each side
    band = np.abs(spectrogram[lo:hi])
    ref_value = 0.1 * np.max(np.abs(spectrogram), axis=-2, keepdims=True)
    shift = interpolate(band, axis=-2)[1:-1]
    dskew = 0.5 * np.gradient(band, axis=-2)[1:-1] * shift
    peak_rows, peak_cols = np.nonzero(
        librosa.util.localmax(band * (band > ref_value), axis=-2)[1:-1]
    )
    pitches = ((peak_rows + (lo + 1) + shift[peak_rows, peak_cols]) * float(sr) / n_fft)
    pitches = pitches.astype(spectrogram.dtype)
    mags = band[peak_rows + 1, peak_cols] + dskew[peak_rows, peak_cols]
    voiced = pitches > 0
    threshold = np.median(mags[voiced]) if voiced.any() else 0.0
    return float(librosa.pitch_tuning(pitches[(mags >= threshold) & voiced], resolution=0.01,
                                      bins_per_octave=bins_per_octave))


# -- HPSS: the harmonic mask through an exact running median --------------------------
def harmonic_mask(magnitude: np.ndarray, *, kernel: int) -> np.ndarray:
    """``librosa.decompose.hpss(magnitude, kernel_size=kernel, mask=True)[0]`` for odd kernels."""
    import librosa

    # Median along time (rows of the transposed array) and along frequency.
    harmonic = median_filter(np.ascontiguousarray(magnitude.T), kernel).T
    percussive = median_filter(np.ascontiguousarray(magnitude), kernel)
    return librosa.util.softmask(harmonic, percussive, power=2, split_zeros=True)


def reflect(i: np.ndarray, n: int) -> np.ndarray:
    """Indices ``i`` into a line of length ``n``, scipy.ndimage's mode="reflect" (dcba|abcd)."""
    i = np.mod(i, 2 * n)
    return np.where(i < n, i, 2 * n - 1 - i)


def median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of odd ``size`` along axis 0, border mode "reflect".

    Equal, element for element, to ``scipy.ndimage.median_filter(x,
    size=(size, 1), mode="reflect")`` (what ``librosa.decompose.hpss``
    calls): the median of an odd window is one of its elements, so no
    arithmetic can differ. Each column keeps its window sorted; moving down
    one row replaces the outgoing value by the incoming one with two counts
    and a short shift, O(size) instead of a sort. Compiled with numba on
    first use.

    Parameters
    ----------
    x : ndarray of shape (n_rows, n_columns), C-contiguous
    size : int
        Odd window length along axis 0.

    Returns
    -------
    ndarray of the shape and dtype of ``x``
    """
    n, half = x.shape[0], size // 2
    # The rows entering the window at row 0, then leaving and entering at rows 1..n-1.
    first = reflect(np.arange(-half, half + 1), n)
    outgoing = reflect(np.arange(n - 1) - half, n)
    incoming = reflect(np.arange(1, n) + half, n)
    return _compiled_median_filter()(x, half, first, outgoing, incoming)


def _median_filter_kernel(
    x: np.ndarray, half: int, first: np.ndarray, outgoing: np.ndarray, incoming: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled by numba
    """The loop of :func:`median_filter`, given the reflected row indices."""
    n, n_cols = x.shape
    size = 2 * half + 1
    out = np.empty_like(x)
    window = np.empty((n_cols, size), dtype=x.dtype)
    for c in range(n_cols):
        for j in range(size):
            window[c, j] = x[first[j], c]
        window[c].sort()
        out[0, c] = window[c, half]
    for i in range(1, n):
        row_out = outgoing[i - 1]
        row_in = incoming[i - 1]
        for c in range(n_cols):
            old = x[row_out, c]
            new = x[row_in, c]
            w = window[c]
            if new != old:
                # old sits at index `at`; new goes to index `to` once old is removed.
                at = 0
                to = 0
                for j in range(size):
                    at += w[j] < old
                    to += w[j] < new
                if old < new:
                    to -= 1
                if to >= at:
                    for j in range(at, to):
                        w[j] = w[j + 1]
                else:
                    for j in range(at, to, -1):
                        w[j] = w[j - 1]
                w[to] = new
            out[i, c] = w[half]
    return out


@functools.cache
def _compiled_median_filter() -> Callable:
    """:func:`_median_filter_kernel` compiled by numba (imported here, on first use).

    ``cache=True`` keeps the machine code on disk, so worker processes load
    it instead of compiling it again.
    """
    import numba

    return numba.njit(cache=True, nogil=True)(_median_filter_kernel)


# -- the CQT and its chroma ------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def cq_to_chroma(n_bins: int) -> np.ndarray:
    """``librosa.filters.cq_to_chroma(n_bins, bins_per_octave=36, n_chroma=12)``, cached."""
    import librosa

    return librosa.filters.cq_to_chroma(n_bins, bins_per_octave=CQT_BINS_PER_OCTAVE,
                                        n_chroma=12)


def relative_bandwidth(freqs: np.ndarray) -> np.ndarray:
    """librosa's private ``filters._relative_bandwidth(freqs=freqs)`` (vqt's ``alpha``).

    Equal-tempered bins all share one value; that value is computed here
    where a librosa version lacks the helper.
    """
    import librosa

    helper = getattr(librosa.filters, "_relative_bandwidth", None)
    if helper is None:  # pragma: no cover - depends on the librosa version
        r = 2.0 ** (1.0 / CQT_BINS_PER_OCTAVE)
        return np.full(len(freqs), (r**2 - 1) / (r**2 + 1))
    return helper(freqs=freqs)


class CQTPlan(NamedTuple):
    """Everything about ``librosa.cqt`` that depends on the tuning but not the signal."""

    early_factor: int  # early downsampling factor (1: none)
    bases: tuple  # per octave, top first: sparse FFT filter basis (36 x n_fft // 2 + 1)
    hops: tuple  # per octave: (STFT hop, resample afterwards?)
    n_fft: int
    sqrt_lengths: np.ndarray  # (n_bins, 1): the CQT's length normalisation


@functools.lru_cache(maxsize=256)
def cqt_plan(sr: int, hop_length: int, tuning: float, early: int = 0) -> CQTPlan:
    """Filter bases of ``librosa.cqt(sr=sr, hop_length=..., n_bins=252, bins_per_octave=36,
    tuning=tuning)``, built once per tuning value (estimates are multiples of 0.01).

    ``early`` asks for at least that many halvings of the sample rate before
    the first octave (fast mode: the top octave ends near 4.2 kHz, well under
    11025 Hz's Nyquist frequency, so every octave costs half); librosa does
    only those it can do without any loss.

    librosa rebuilds the basis of each octave on every call (its cache is off
    by default), which costs more than the transform. The octaves' bases are
    one basis: octave ``i`` has the top octave's frequencies and sample rate
    both divided by ``2**i`` (exact in floating point), so only the top one
    is built and the others are its rescaled copies, as librosa rescales them.
    """
    import librosa

    bpo, n_bins = CQT_BINS_PER_OCTAVE, CQT_BINS_PER_OCTAVE * CQT_OCTAVES
    fmin = librosa.note_to_hz("C1") * 2.0 ** (tuning / bpo)
    freqs = librosa.interval_frequencies(n_bins, fmin=fmin, intervals="equal",
                                         bins_per_octave=bpo, sort=True)
    alpha = relative_bandwidth(freqs)
    _, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=sr, window="hann",
                                                filter_scale=1, gamma=0, alpha=alpha)
    # librosa's early downsampling: skip octaves of sample rate the filters never reach.
    count = max(early, int(np.ceil(np.log2(sr / 2.0 / cutoff)) - 1) - 1)
    twos = (hop_length & -hop_length).bit_length() - 1
    count = min(count, max(0, twos - CQT_OCTAVES + 1))
    while count and cutoff > sr / 2.0 / 2**count:  # never cut into the filters' band
        count -= 1
    factor = 2**count
    top_sr, hop = sr / factor, hop_length // factor

    top_basis, n_fft = cqt_filter_fft(top_sr, freqs[-bpo:], alpha[-bpo:])
    bases, hops, my_sr = [], [], top_sr
    for octave in range(CQT_OCTAVES):
        sl = slice(n_bins - bpo * (octave + 1), n_bins - bpo * octave)
        if my_sr == top_sr / 2**octave:
            basis = top_basis.copy()
        else:  # an odd hop stopped the downsampling: build this octave's own basis
            basis, _ = cqt_filter_fft(my_sr, freqs[sl], alpha[sl])
        basis.data *= np.sqrt(top_sr / my_sr)  # librosa's compensation for downsampling
        halve = hop % 2 == 0
        bases.append(basis)
        hops.append((hop, halve))
        if halve:
            hop //= 2
            my_sr /= 2.0
    lengths, _ = librosa.filters.wavelet_lengths(freqs=freqs, sr=top_sr, window="hann",
                                                 filter_scale=1, gamma=0, alpha=alpha)
    return CQTPlan(factor, tuple(bases), tuple(hops), n_fft, np.sqrt(lengths)[:, None])


def cqt_filter_fft(
    sr: float, freqs: np.ndarray, alpha: np.ndarray
) -> tuple[scipy.sparse.csr_matrix, int]:
    """One octave's sparse frequency-domain basis, as librosa's private ``__vqt_filter_fft``."""
    import librosa

    basis, lengths = librosa.filters.wavelet(freqs=freqs, sr=sr, window="hann", filter_scale=1,
                                             norm=1, pad_fft=True, gamma=0, alpha=alpha)
    n_fft = basis.shape[1]
    basis *= lengths[:, np.newaxis] / float(n_fft)
    fft_basis = librosa.get_fftlib().fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    return sparsify_rows(fft_basis, quantile=0.01), n_fft


def sparsify_rows(x: np.ndarray, *, quantile: float) -> scipy.sparse.csr_matrix:
    """``librosa.util.sparsify_rows`` without its slow element-wise sparse assignment."""
    mags = np.abs(x)
    norms = np.sum(mags, axis=1, keepdims=True)
    mag_sort = np.sort(mags, axis=1)
    cumulative = np.cumsum(mag_sort / norms, axis=1)
    threshold = mag_sort[np.arange(x.shape[0]), np.argmin(cumulative < quantile, axis=1)]
    return scipy.sparse.csr_matrix(np.where(mags >= threshold[:, None], x, 0).astype(x.dtype))


def cqt_magnitude(
    y: np.ndarray, *, sr: int, hop_length: int, tuning: float, early: int = 0
) -> np.ndarray:
    """``np.abs(librosa.cqt(y, sr=sr, hop_length=hop_length, n_bins=252,
    bins_per_octave=36, tuning=tuning))``, with the filter bases from :func:`cqt_plan`."""
    import librosa

    plan = cqt_plan(sr, hop_length, tuning, early)
    if plan.early_factor > 1:
        y = librosa.resample(y, orig_sr=plan.early_factor, target_sr=1,
                             res_type=CQT_RES_TYPE, scale=True)
    responses = []
    for octave, (basis, (hop, halve)) in enumerate(zip(plan.bases, plan.hops)):
        frames = librosa.stft(y, n_fft=plan.n_fft, hop_length=hop, window="ones",
                              pad_mode="constant", dtype=np.complex64)
        responses.append(basis.dot(frames))
        if halve and octave < CQT_OCTAVES - 1:
            y = librosa.resample(y, orig_sr=2, target_sr=1, res_type=CQT_RES_TYPE,
                                 scale=True)
    # Stack the octaves, top one last, trimmed to the shortest (librosa's __trim_stack).
    n_frames = min(r.shape[-1] for r in responses)
    cqt = np.concatenate([r[:, :n_frames] for r in reversed(responses)], axis=0)
    cqt /= plan.sqrt_lengths
    return np.abs(cqt)


def cqt_tonnetz(
    y: np.ndarray, *, sr: int, hop_length: int, tuning: float, early: int = 0
) -> np.ndarray:
    """``librosa.feature.tonnetz(y=y, sr=sr)`` given the CQT's tuning estimate.

    ``early=1`` starts the CQT at half the sample rate (the recipe's fast mode).
    """
    import librosa

    cqt = cqt_magnitude(y, sr=sr, hop_length=hop_length, tuning=tuning, early=early)
    chroma = np.einsum("cf,...ft->...ct", cq_to_chroma(cqt.shape[0]), cqt, optimize=True)
    chroma[chroma < 0.0] = 0.0  # chroma_cqt's threshold=0.0
    chroma = librosa.util.normalize(chroma, norm=np.inf, axis=-2)
    return librosa.feature.tonnetz(chroma=chroma)
