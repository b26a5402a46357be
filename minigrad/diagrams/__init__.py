"""Architecture diagrams in the book's one visual language (temporary header)."""

from minigrad.diagrams.language import ROLES, Scene
from minigrad.diagrams.patterns import (
    bidirectional_rnn, encoder_decoder, io_shapes, language_model, parameter_sharing, stacked_rnn,
    teacher_forcing, unrolled_rnn,
)
from minigrad.diagrams.render import Diagram, row
from minigrad.diagrams.gradients import gradient_flow, jacobian_chain, truncated_bptt
from minigrad.diagrams.cells import cell_state_path, gru_cell, lstm_cell
from minigrad.diagrams.arrays import batch_layout, fused_gates
from minigrad.diagrams.trees import beam_search_tree, tree_lstm_node, tree_network
from minigrad.diagrams.pixels import diagonal_skew, raster_order, receptive_field
from minigrad.diagrams.animation import Animation, gradient_animation
