"""Architecture diagrams in the book's one visual language ("draw before you derive").

Every network of the book is drawn by a call to this package, with matplotlib and nothing else,
so the pictures share one language and stay in step with the notation:

- **states are boxes**, coloured by role: input :math:`x` green, hidden and cell states
  :math:`h, c` blue, output :math:`o, \\hat y` orange, loss :math:`L` purple, target :math:`y`
  grey;
- **operations are small circles** (``⊙``, ``+``, ``1−``, ``tanh``), **gates are yellow blocks**
  (``σ`` or ``tanh``: a learned layer and its nonlinearity), a black dot is a line that splits;
- **time runs from left to right**, data from bottom to top;
- **arrows carry the book's weight names** (:math:`U` input to hidden, :math:`W` hidden to
  hidden, :math:`V` hidden to output); a **gradient** runs back beside the arrow it mirrors, in
  vermillion.

Each function returns a :class:`Diagram` (an :class:`Animation` for the one animation), which a
notebook shows as SVG. The chapter figures, with one call each:

======  =================================================================================
ch. 1   ``parameter_sharing()``
ch. 2   ``unrolled_rnn(3, parts=("x", "h"), time="relative", folded=True)``
ch. 3   ``unrolled_rnn(4)``, ``batch_layout()``
ch. 4   ``gradient_flow()``, ``truncated_bptt()``, ``gradient_animation()``
ch. 5   ``teacher_forcing()``, ``unrolled_rnn(4, "C")``, ``io_shapes()``, ``encoder_decoder()``
ch. 6   ``language_model()``, ``beam_search_tree()``
ch. 7   ``bidirectional_rnn()``, ``stacked_rnn()``
ch. 8   ``jacobian_chain()``
ch. 9   ``gru_cell()``, ``gru_cell(reset=False)``
ch. 10  ``lstm_cell()``, ``cell_state_path()``
ch. 11  ``tree_network()``, ``tree_lstm_node("both")``
ch. 12  ``raster_order()``, ``receptive_field()``, ``diagonal_skew()``
ch. 13  ``fused_gates()``, ``stacked_rnn(notation="superscript")``
======  =================================================================================

The README's "Drawing diagrams" shows how a chapter places one as a numbered figure with a
caption and alt text. Importing this package needs only numpy; matplotlib is imported when a
diagram is drawn.
"""

from minigrad.diagrams.animation import Animation, gradient_animation
from minigrad.diagrams.arrays import batch_layout, fused_gates
from minigrad.diagrams.cells import cell_state_path, gru_cell, lstm_cell
from minigrad.diagrams.gradients import gradient_flow, jacobian_chain, truncated_bptt
from minigrad.diagrams.language import ROLES, Scene
from minigrad.diagrams.patterns import (
    bidirectional_rnn, encoder_decoder, io_shapes, language_model, parameter_sharing, stacked_rnn,
    teacher_forcing, unrolled_rnn,
)
from minigrad.diagrams.pixels import diagonal_skew, raster_order, receptive_field
from minigrad.diagrams.render import Diagram, column, row
from minigrad.diagrams.trees import beam_search_tree, tree_lstm_node, tree_network

__all__ = [
    "ROLES",
    "Animation",
    "Diagram",
    "Scene",
    "batch_layout",
    "beam_search_tree",
    "bidirectional_rnn",
    "cell_state_path",
    "column",
    "diagonal_skew",
    "encoder_decoder",
    "fused_gates",
    "gradient_animation",
    "gradient_flow",
    "gru_cell",
    "io_shapes",
    "jacobian_chain",
    "language_model",
    "lstm_cell",
    "parameter_sharing",
    "raster_order",
    "receptive_field",
    "row",
    "stacked_rnn",
    "teacher_forcing",
    "tree_lstm_node",
    "tree_network",
    "truncated_bptt",
    "unrolled_rnn",
]
