"""Chapter 12's graded questions: the Row LSTM's mask and receptive field, bits per pixel, and the
PixelCNN's receptive field.

12.1 asks for the masked input-to-state kernel of a Row LSTM as a 0/1 array (2, 2k + 1): row 0
the taps on the row above, row 1 the taps on the current row, column ``k + s`` the tap at column
offset ``s``; the reference reads the offsets a ``minigrad.nn.RowLSTM`` uses. 12.2 asks which input
pixels a one-layer (mask A) Row LSTM's state at (row, col) depends on; the reference is the nonzero
pattern of that state's gradient through a ``RowLSTM`` with random weights. 12.3 asks for the
negative log-likelihood in bits per pixel of images under per-pixel scores (logits); 12.4 for the
same under independent per-pixel histograms with add-one smoothing. Their references are
``minigrad.functional.cross_entropy`` with ``minigrad.metrics.bits_per_pixel``, and
``minigrad.metrics.independent_pixel_log_prob``. 12.5, harder, asks for the receptive field of ``L``
stacked masked ``k x k`` convolutions (mask A, then B) for any depth and kernel size, which the
chapter measures for one stack only; the reference is the nonzero pattern of the gradient through
linear ``minigrad.nn.MaskedConv2d`` layers with random weights.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_input_mask", "reference_row_lstm_context", "reference_bits_per_pixel",
           "reference_independent_bits", "reference_pixelcnn_context"]


# ------------------------------------------------------------------------------- 12.1 the mask
def reference_input_mask(kernel_size: int, include_centre: bool) -> np.ndarray:
    """The taps of ``RowLSTM(kernel_size, mask="B" if include_centre else "A")``'s input-to-state kernel."""
    from minigrad.nn import RowLSTM

    layer = RowLSTM(1, 1, kernel_size, mask="B" if include_centre else "A", rng=np.random.default_rng(0))
    k = kernel_size // 2
    mask = np.zeros((2, kernel_size))
    mask[0, [k + s for s in layer.state_offsets]] = 1  # the row above: read through the shifted copy
    mask[1, [k + s for s in layer.input_offsets]] = 1
    return mask


def _mask_case(label: str, kernel_size: int, include_centre: bool) -> dict:
    return {"label": label, "args": [{"number": kernel_size}, {"number": include_centre}]}


def _hidden_mask(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_mask_case("hidden case, kernel 5, mask B", 5, True),
            _mask_case("hidden case, kernel 7, mask A", 7, False),
            _mask_case("hidden case, kernel 3, mask B", 3, True))


def _grade_mask(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        kernel_size, include_centre = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), reference_input_mask(kernel_size, include_centre)
        if close(got, expected):
            continue
        k = kernel_size // 2
        hint = ""
        if got.shape == expected.shape:
            if got[1, k] != expected[1, k]:
                hint = ("; the centre tap of the current row is the pixel itself: mask A leaves it out, "
                        "mask B keeps it")
            elif got[1, k + 1:].any():
                hint = "; the current row's taps right of the centre are pixels not yet generated"
            elif not got[0].all():
                hint = "; the row above is entirely in the past: keep all its taps"
        return Outcome("failed", 0, f"the mask differs from minigrad.nn.RowLSTM's: {first_difference(got, expected)}"
                                    f"{hint} ({case['label']})")
    return Outcome("passed", 2, f"the mask matches minigrad.nn.RowLSTM's {where(cases)}")


# ------------------------------------------------------------------------------- 12.2 the receptive field
def _gradient_field(model: Callable[[Any], Any], rng: np.random.Generator, height: int, width: int, row: int,
                    col: int) -> np.ndarray:
    """1 where the output of ``model`` (two input channels) at (row, col) has a nonzero gradient with
    respect to an input pixel, on two random images: the pixels the architecture reads."""
    import minigrad

    x = minigrad.Tensor(rng.standard_normal((2, height, width, 2)), requires_grad=True)
    model(x)[:, row, col].sum().backward()
    return (np.abs(x.grad).sum(axis=(0, 3)) > 0).astype(float)


def reference_row_lstm_context(height: int, width: int, row: int, col: int, kernel_size: int) -> np.ndarray:
    """1 where the state at (row, col) of a one-layer mask-A ``RowLSTM`` has a nonzero input gradient."""
    from minigrad.nn import RowLSTM

    rng = np.random.default_rng(12)
    return _gradient_field(RowLSTM(2, 3, kernel_size, mask="A", rng=rng), rng, height, width, row, col)


def _context_case(label: str, height: int, width: int, row: int, col: int, kernel_size: int) -> dict:
    return {"label": label, "args": [{"number": v} for v in (height, width, row, col, kernel_size)]}


def _hidden_context(rng: np.random.Generator) -> tuple[dict, ...]:
    height, width = int(rng.integers(6, 9)), int(rng.integers(8, 12))
    return (_context_case(f"hidden case, {height} x {width}, kernel 3", height, width, height - 1,
                          int(rng.integers(2, width - 2)), 3),
            _context_case("hidden case, 7 x 9, kernel 5", 7, 9, 4, 6, 5),
            _context_case("hidden case, 5 x 6, first row", 5, 6, 0, 3, 3))


def _grade_context(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        height, width, row, col, kernel_size = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), reference_row_lstm_context(height, width, row, col, kernel_size)
        got = (got != 0).astype(float) if got.shape == expected.shape else got
        if close(got, expected):
            continue
        hint = ""
        if got.shape == expected.shape:
            past = (np.arange(height * width) < row * width + col).reshape(height, width)
            if got.ravel()[row * width + col:].any():
                hint = "; it includes the pixel itself or later pixels, which the mask hides"
            elif np.array_equal(got.astype(bool), past):
                hint = "; that is the whole past x_<i: the Row LSTM sees only a cone of it"
        return Outcome("failed", 0, f"the receptive field differs from the gradient of minigrad.nn.RowLSTM: "
                                    f"{first_difference(got, expected)}{hint} ({case['label']})")
    return Outcome("passed", 3, f"the receptive field matches the gradient of minigrad.nn.RowLSTM {where(cases)}")


# ------------------------------------------------------------------------------- 12.3, 12.4 bits per pixel
def reference_bits_per_pixel(logits: np.ndarray, images: np.ndarray) -> float:
    """-mean log2 softmax(logits)[image] per pixel, by ``cross_entropy`` and ``metrics.bits_per_pixel``."""
    from minigrad import Tensor
    from minigrad import functional as F
    from minigrad.metrics import bits_per_pixel

    nats = F.cross_entropy(Tensor(logits.reshape(-1, logits.shape[-1])), images.reshape(-1), reduction="none")
    return bits_per_pixel(-nats.data.reshape(len(images), -1).sum(axis=1), images[0].size)


def reference_independent_bits(train: np.ndarray, test: np.ndarray, levels: int) -> float:
    """Bits per pixel of ``test`` under add-one smoothed per-pixel histograms of ``train``."""
    from minigrad.metrics import bits_per_pixel, independent_pixel_log_prob

    return bits_per_pixel(independent_pixel_log_prob(train, test, levels), test[0].size)


def _logits_case(label: str, rng: np.random.Generator, n: int, height: int, width: int, levels: int) -> dict:
    images = rng.integers(0, levels, size=(n, height, width))
    return {"label": label, "args": [random_array(rng, (n, height, width, levels), 2.0),
                                     {"integers": images.tolist()}]}


def _hidden_logits(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_logits_case("hidden case, 5 images of 3 x 4, 6 levels", rng, 5, 3, 4, 6),
            _logits_case("hidden case, 2 images of 4 x 2, 17 levels", rng, 2, 4, 2, 17))


def _grade_bits(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        logits, images = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), np.array(reference_bits_per_pixel(logits, images))
        if close(got, expected):
            continue
        hint = ""
        raw = -np.take_along_axis(logits, images[..., None], axis=-1).mean() / math.log(2)
        pixels = images[0].size
        for why, wrong in (("give nats: divide by ln 2 for bits", expected * math.log(2)),
                           ("give bits per image: divide by the number of pixels", expected * pixels),
                           ("use the raw scores as log-probabilities: take the log-softmax first", raw)):
            if got.size == 1 and close(got.reshape(()), np.array(wrong)):
                hint = f"; this is what you get if you {why}"
                break
        return Outcome("failed", 0, f"bits per pixel differ from minigrad's cross_entropy: "
                                    f"{first_difference(got.reshape(-1), expected.reshape(-1))}{hint} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"bits per pixel match minigrad's cross_entropy {where(cases)}")


def _histogram_case(label: str, rng: np.random.Generator, n_train: int, n_test: int, height: int, width: int,
                    levels: int) -> dict:
    # Each position has its own preferred level, so one histogram pooled over positions is wrong.
    preferred = rng.integers(0, levels, size=(height, width))

    def draw(n: int) -> np.ndarray:
        noise = rng.integers(0, levels, size=(n, height, width))
        return np.where(rng.random((n, height, width)) < 0.6, preferred, noise)
    train, test = draw(n_train), draw(n_test)
    seen = (train.reshape(n_train, -1, 1) == np.arange(levels)).any(axis=0)  # (positions, levels)
    unseen = np.argwhere(~seen)
    if len(unseen):  # a level never seen at a position: only the smoothing keeps it possible
        test.reshape(n_test, -1)[0, unseen[0, 0]] = unseen[0, 1]
    return {"label": label, "args": [{"integers": train.tolist()}, {"integers": test.tolist()}, {"number": levels}]}


def _hidden_histogram(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_histogram_case("hidden case, 40 images of 3 x 3, 7 levels", rng, 40, 15, 3, 3, 7),
            _histogram_case("hidden case, 12 images of 2 x 5, 17 levels", rng, 12, 6, 2, 5, 17))


def _grade_histogram(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        train, test, levels = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), np.array(reference_independent_bits(train, test, levels))
        if close(got, expected):
            continue
        hint = ""
        pooled = np.bincount(train.ravel(), minlength=levels) + 1.0
        pooled_bits = -np.log2(pooled / pooled.sum())[test].mean()
        if not np.all(np.isfinite(got)):
            hint = "; a level never seen at a position gets probability 0 without add-one smoothing"
        elif got.size == 1 and close(got.reshape(()), np.array(pooled_bits)):
            hint = "; this is one histogram pooled over all positions: count each pixel position separately"
        return Outcome("failed", 0, f"bits per pixel differ from minigrad.metrics.independent_pixel_log_prob: "
                                    f"{first_difference(got.reshape(-1), expected.reshape(-1))}{hint} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"bits per pixel match minigrad.metrics.independent_pixel_log_prob {where(cases)}")


# ------------------------------------------------------------------------------- 12.5 the PixelCNN's field
def reference_pixelcnn_context(height: int, width: int, row: int, col: int, num_layers: int,
                               kernel_size: int) -> np.ndarray:
    """1 where the output at (row, col) of ``num_layers`` stacked ``MaskedConv2d`` (mask A, then B) has a
    nonzero input gradient.

    The layers are linear (random weights, no rectifier), so that no unit that happens to be inactive
    cuts off an input: the map is the set of pixels the architecture can read.
    """
    from minigrad.nn import MaskedConv2d, Sequential

    rng = np.random.default_rng(125)
    stack = Sequential(*(MaskedConv2d(2, 2, kernel_size, mask="A" if depth == 0 else "B", rng=rng)
                         for depth in range(num_layers)))
    return _gradient_field(stack, rng, height, width, row, col)


def _field(height: int, width: int, row: int, col: int, up: int, left, right, own_row_left: int,
           with_pixel: bool = False) -> np.ndarray:
    """A field that reaches ``up`` rows up and, d rows up, from ``left(d)`` columns left to ``right(d)``
    columns right of ``col``; in the target's own row ``own_row_left`` columns left (and the pixel
    itself ``with_pixel``). The shapes of the common wrong answers."""
    field = np.zeros((height, width))
    field[row, max(col - own_row_left, 0):col + with_pixel] = 1
    for d in range(1, min(up, row) + 1):
        field[row - d, max(col - left(d), 0):col + right(d) + 1] = 1
    return field


def _pixelcnn_slips(height: int, width: int, row: int, col: int, num_layers: int,
                    kernel_size: int) -> dict[str, np.ndarray]:
    """{why: field} for the misreadings of how L masked k x k layers add up."""
    k, layers = kernel_size // 2, num_layers
    reach = k * layers

    def field(**change) -> np.ndarray:
        shape = {"up": reach, "left": lambda d: reach, "right": lambda d: k * min(d, layers),
                 "own_row_left": reach} | change
        return _field(height, width, row, col, **shape)

    return {
        "leave out the blind spot: a layer moves right only where it also moves up, so d rows up the "
        "field reaches k' min(d, L) columns to the right, not k' L": field(right=lambda d: reach),
        "let the right reach grow with every row up: only L layers move right, so from L rows up it "
        "stays at k' L": field(right=lambda d: k * d),
        "let each layer reach one row up: a k x k kernel reaches k' rows up, so L layers reach "
        "k' L rows": field(up=layers),
        "reach only k' pixels left in the target's own row: every layer reaches k' further "
        "left": field(own_row_left=k),
        "include the pixel itself: the first layer has mask A": field(with_pixel=True),
        "copy the Row LSTM's triangle of 12.2: every masked layer reaches k' further left, in every "
        "row, its own included": _field(height, width, row, col, up=row, left=lambda d: (d + 1) * k,
                                        right=lambda d: d * k, own_row_left=k),
    }


def _pixelcnn_case(label: str, height: int, width: int, row: int, col: int, num_layers: int,
                   kernel_size: int) -> dict:
    return {"label": label,
            "args": [{"number": v} for v in (height, width, row, col, num_layers, kernel_size)]}


def _hidden_pixelcnn(rng: np.random.Generator) -> tuple[dict, ...]:
    height, width = int(rng.integers(9, 13)), int(rng.integers(10, 14))
    row, col = int(rng.integers(6, height)), int(rng.integers(3, width - 3))
    return (_pixelcnn_case(f"hidden case, {height} x {width}, 3 layers of 3 x 3", height, width, row, col, 3, 3),
            _pixelcnn_case("hidden case, 8 x 8, the chapter's 7 layers of 3 x 3", 8, 8, 5, 3, 7, 3),
            _pixelcnn_case("hidden case, 12 x 10, 2 layers of 7 x 7", 12, 10, 11, 6, 2, 7),
            _pixelcnn_case("hidden case, 7 x 9, 1 layer of 5 x 5", 7, 9, 4, 2, 1, 5))


def _grade_pixelcnn(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        got, expected = numbers(answer), reference_pixelcnn_context(*args)
        got = (got != 0).astype(float) if got.shape == expected.shape else got
        if close(got, expected):
            continue
        hint = ""
        if got.shape == expected.shape:
            _, width, row, col = args[:4]
            hint = next((f"; this is what you get if you {why}" for why, wrong in _pixelcnn_slips(*args).items()
                         if np.array_equal(got, wrong)), "")
            if not hint and got.ravel()[row * width + col:].any():
                hint = "; it includes the pixel itself or later pixels, which the masks hide"
        return Outcome("failed", 0, f"the receptive field differs from the gradient of stacked "
                                    f"minigrad.nn.MaskedConv2d: {first_difference(got, expected)}{hint} "
                                    f"({case['label']})")
    return Outcome("passed", 4, f"the receptive field matches the gradient of stacked minigrad.nn.MaskedConv2d "
                                f"{where(cases)}")


QUESTIONS = (
    Question(qid="12.1", points=2, title="The Row LSTM's masked input kernel", answer="input_mask",
             difficulty=2, minutes=15,
             kind="numbers", visible=(_mask_case("visible case, kernel 3, mask A", 3, False),),
             hidden=_hidden_mask, grade=_grade_mask,
             borrowed=("minigrad.nn.RowLSTM",),
             hints=("Go tap by tap in raster order: the whole row above comes before pixel (r, j); on the "
                    "current row only the columns j - k, ..., j - 1 do (the chapter's figure of masks A and B "
                    "shows width 3).",
                    "Row 0 is all ones. Row 1 has ones in columns 0, ..., k - 1 (offsets -k, ..., -1) and zeros "
                    "right of the centre, columns k + 1, ..., 2k.",
                    "The centre, column k of row 1, is the only tap where the two masks differ: 0 for mask A, "
                    "1 for mask B, i.e. float(include_centre).")),
    Question(qid="12.2", points=3, title="The Row LSTM's receptive field", answer="row_lstm_context",
             difficulty=1, minutes=10,
             kind="numbers", visible=(_context_case("visible case, 6 x 8, kernel 3", 6, 8, 4, 5, 3),),
             hidden=_hidden_context, grade=_grade_context,
             borrowed=("minigrad.nn.RowLSTM", "minigrad.autograd.backward"),
             hints=("The chapter works the field out under its figure of receptive fields: d rows up, one "
                    "layer reaches from column j - (d + 1)k to j + dk, and in its own row the k pixels to the "
                    "left.",
                    "Row `row` gets ones at columns col - k, ..., col - 1; row `row - d`, for d = 1, ..., row, at "
                    "columns col - (d + 1)k, ..., col + dk. All other entries are 0.",
                    "Clip at the left edge: start the slice at max(col - (d + 1) * k, 0), since a negative start "
                    "counts from the right in numpy; an end past the width is clipped for you.")),
    Question(qid="12.3", points=3, title="Negative log-likelihood in bits per pixel", answer="nll_bits_per_pixel",
             difficulty=1, minutes=10,
             kind="numbers", visible=(_logits_case("visible case, 3 images of 2 x 3, 4 levels",
                                                   np.random.default_rng(1201), 3, 2, 3, 4),),
             hidden=_hidden_logits, grade=_grade_bits,
             hints=("Equation (eq-px-bpp) with p from the softmax of (eq-px-softmax): the mean, over all images "
                    "and pixels, of -log2 of the probability of the level the pixel has.",
                    "log softmax(o)_v = o_v - log Σ_u exp(o_u); subtract each score vector's maximum first, so "
                    "that exp cannot overflow.",
                    "np.take_along_axis(log_softmax, images[..., None], axis=-1) picks each pixel's level; "
                    "take minus the mean and divide by np.log(2) to turn nats into bits.")),
    Question(qid="12.4", points=3, title="The independent-pixel baseline", answer="independent_pixel_bits",
             difficulty=2, minutes=15,
             kind="numbers", visible=(_histogram_case("visible case, 20 images of 2 x 3, 5 levels",
                                                      np.random.default_rng(1202), 20, 8, 2, 3, 5),),
             hidden=_hidden_histogram, grade=_grade_histogram,
             hints=("Equation (eq-px-independent) with α = 1: each of the R C positions has its own histogram "
                    "of the K levels, counted over the training images only.",
                    "Flatten the images to (N, R C). counts[i, v] = the number of training images with level v "
                    "at position i, plus 1; each row divided by N_train + K is p̂_i.",
                    "Look up log2 p̂_i(v) for the level v of every test image at every position, "
                    "log2_p[np.arange(n), flat_test], and return minus the mean.")),
    Question(qid="12.5", points=4, title="The PixelCNN's receptive field and blind spot", answer="pixelcnn_context",
             difficulty=3, minutes=30,
             kind="numbers", visible=(_pixelcnn_case("visible case, 9 x 11, 2 layers of 5 x 5", 9, 11, 7, 5, 2, 5),),
             hidden=_hidden_pixelcnn, grade=_grade_pixelcnn,
             borrowed=("minigrad.nn.MaskedConv2d", "minigrad.nn.PixelCNN", "minigrad.analysis.pixel_influence",
                       "minigrad.autograd.backward"),
             hints=("Each layer adds one tap (δ, ε) of its kernel to the offset of the pixel read, so the "
                    "field is every sum of L taps, one per layer: the first from mask A, the others from "
                    "mask B (the taps T of (eq-px-masked-conv)). Work out which offsets such sums reach.",
                    "With k' = kernel_size // 2, a tap moves right (ε > 0) only if it also moves up, by 1 to k' "
                    "rows; a tap in the current row moves left or stays. How far right can a sum of L taps "
                    "get d rows up, when d < L and when d >= L? And how far left?",
                    "Rows row - d for d = 1, ..., min(k' L, row): columns col - k' L, ..., col + k' min(d, L); "
                    "the target's row: columns col - k' L, ..., col - 1. Clip at the image's edges."),
             reference=lambda case: reference_pixelcnn_context(*(build_argument(spec) for spec in case["args"]))),
)
