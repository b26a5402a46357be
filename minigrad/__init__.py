"""minigrad: the small reverse-mode autograd package of the rnn-course book.

``Value`` is the scalar engine of chapter 2. Everything here needs only numpy at import time.
"""

from minigrad.scalar import Value

__all__ = ["Value"]
__version__ = "0.1.0"
