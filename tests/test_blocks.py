"""Weight layouts (numpy_model.models.kernels.Blocks): the row spans the compiled kernels loop over."""
import numpy as np

from numpy_model.circuit.layout import Layout
from numpy_model.models import sacramento2018
from numpy_model.models.common import forward_blocks
from numpy_model.models.kernels import Blocks


def _mask_spans(blocks):
    """Spans from the populated entries of a dense 0/1 pattern of the per-layer blocks."""
    m = np.zeros(blocks.shape, bool)
    for _, r, c in blocks.views:
        m[r, c] = True
    out = np.zeros((blocks.shape[0], 2), np.int64)
    for i, row in enumerate(m):
        cols = np.flatnonzero(row)
        if len(cols):
            out[i] = cols[0], cols[-1] + 1
    return out


def test_row_spans_of_a_layered_net_are_the_previous_layer():
    lay = Layout("sacramento2018", [8, 4, 2, 1], [0, 4, 2, 1], [4, 2])
    W, _ = forward_blocks(lay, "layered", [1.0, 1.0, 1.0], 0.1, 1)
    assert W.dense
    spans = W.row_spans()
    np.testing.assert_array_equal(spans, [[0, 8]] * 4 + [[8, 12]] * 2 + [[12, 14]])
    np.testing.assert_array_equal(spans, _mask_spans(W))


def test_row_spans_of_skip_and_backward_layouts_cover_every_populated_entry():
    lay = Layout("sacramento2018", [8, 4, 2, 1], [0, 4, 2, 1], [4, 2])
    eta = [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]     # every block E[post-1][pre]
    W, _ = forward_blocks(lay, "skip", eta, 0.1, 1)
    np.testing.assert_array_equal(W.row_spans(), [[0, 8]] * 4 + [[0, 12]] * 2 + [[0, 14]])
    np.testing.assert_array_equal(W.row_spans(), _mask_spans(W))
    B = sacramento2018.backward_blocks(lay)       # rows P layer k, cols P layer k+1
    np.testing.assert_array_equal(B.row_spans(), [[4, 6]] * 4 + [[6, 7]] * 2)
    np.testing.assert_array_equal(B.row_spans(), _mask_spans(B))


def test_a_row_without_a_block_has_an_empty_span():
    B = Blocks.of((3, 4), [(slice(0, 1), slice(1, 3)), (slice(2, 3), slice(0, 4))], dense=True)
    np.testing.assert_array_equal(B.row_spans(), [[1, 3], [0, 0], [0, 4]])
