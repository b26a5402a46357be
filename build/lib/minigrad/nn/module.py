"""The module machinery: :class:`Parameter`, :class:`Module` and its containers (chapters 3 and 13).

A network is a tree of modules. Each module registers the :class:`Parameter` objects and the
sub-modules assigned to its attributes, so that ``named_parameters()`` can walk the tree and name
every weight by its dotted path (``encoder.cell.weight_hh``), as PyTorch's ``torch.nn.Module``
does. The names are the keys of ``state_dict()``, which is how a ``minigrad`` model is saved,
restored, and loaded into the PyTorch module of the same name (chapter 13).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "IncompatibleKeys"]


class Parameter(Tensor):
    """A tensor that a :class:`Module` owns and an optimiser updates (chapter 3).

    It is a :class:`~minigrad.Tensor` with ``requires_grad=True``; assigning one to a module's
    attribute registers it, so that it appears in ``parameters()`` and ``state_dict()``, and an
    optimiser moves it against its gradient, :math:`\\theta \\leftarrow \\theta - \\eta \\nabla_\\theta L`.

    Args:
        data: the initial value (array-like or :class:`~minigrad.Tensor`; its values are copied).
        requires_grad: whether gradients flow to it (default ``True``).
        dtype: the dtype of the stored array; default: the dtype of ``data`` (float64 for lists).

    Example:
        >>> w = Parameter(np.zeros((2, 3)))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{Tensor.__repr__(self)}"


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` found: keys the model wanted and keys it did not know (chapter 13).

    Loading succeeded for the key set :math:`K_\\text{model} \\cap K_\\text{state}`; ``missing_keys``
    is :math:`K_\\text{model} \\setminus K_\\text{state}` and ``unexpected_keys``
    :math:`K_\\text{state} \\setminus K_\\text{model}`.
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every network :math:`y = f(x; \\theta)` (chapter 3).

    It registers the parameters :math:`\\theta` and the sub-modules assigned to its attributes.

    Subclasses call ``super().__init__()`` first, assign :class:`Parameter` and :class:`Module`
    attributes, and define ``forward``; calling the module calls ``forward``. The interface is
    PyTorch's: ``parameters()``, ``named_parameters()`` with dotted names, ``children()``,
    ``modules()``, ``train()``/``eval()`` (returning ``self``), ``zero_grad()``, ``state_dict()``
    and ``load_state_dict(strict=True)``.

    Example:
        >>> class Affine(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = Parameter(np.ones(3))
        ...     def forward(self, x):
        ...         return x * self.w
        >>> [name for name, _ in Affine().named_parameters()]
        ['w']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ attribute registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        for registry in (self._parameters, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: look in the registries, else fail loudly.
        registries = self.__dict__.get("_parameters", {}), self.__dict__.get("_modules", {})
        for registry in registries:
            if name in registry:
                return registry[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    # ------------------------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------------------ the tree
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules, in assignment order."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)`` for this module (name ``prefix``) and all below it."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(f"{name}.{child_name}" if name else child_name, child)
                     for child_name, child in module._modules.items()]
            stack.extend(reversed(below))

    def modules(self) -> Iterator[Module]:
        """Yield this module and every module below it (each once)."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, parameter)`` pairs, each shared parameter once.

        Args:
            prefix: prepended to every name (with a dot).
            recurse: include the parameters of sub-modules.
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield every parameter (what an optimiser is given)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # --------------------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active) on this module and every module below; return ``self``."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (dropout off); return ``self``. Same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``), before the next ``backward()``."""
        for param in self.parameters():
            param.grad = None

    # ---------------------------------------------------------------------------- state dict
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """A copy of every parameter as a numpy array, keyed by its dotted name.

        The keys are PyTorch's for the modules PyTorch has (``weight_ih_l0``, ``bias_hh_l1_reverse``),
        so ``{k: torch.from_numpy(v) for k, v in sd.items()}`` loads into the PyTorch module.
        """
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters of the same name.

        Args:
            state_dict: name -> array-like (numpy arrays, or anything ``np.asarray`` accepts).
            strict: if ``True``, missing or unexpected keys are an error; if ``False`` they are
                returned and the matching keys are still loaded.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: a value's shape differs from its parameter's, or ``strict`` and some
                keys are missing or unexpected; the message lists every problem (as PyTorch's).
        """
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = [
            f"shape mismatch for {name}: the parameter has shape {own[name].shape}, "
            f"the state dict has {tuple(np.shape(value))}"
            for name, value in state_dict.items()
            if name in own and tuple(np.shape(value)) != own[name].shape
        ]
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if problems:
            raise RuntimeError(f"error loading a state dict into {type(self).__name__}: "
                               + "; ".join(problems))
        for name, param in own.items():
            if name in state_dict:
                param.data[...] = np.asarray(state_dict[name], dtype=param.data.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The module's own settings, shown in its ``repr`` (e.g. ``in_features=3``)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class _Indexed(Module):
    """A module whose sub-modules are numbered ``"0"``, ``"1"``, …: indexing, ``len`` and iteration."""

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(_Indexed):
    """Modules applied one after another, :math:`y = f_n(\\dots f_2(f_1(x)))` (chapter 5).

    The sub-modules are named ``"0"``, ``"1"``, …, so parameters are named ``0.weight`` etc.,
    as in PyTorch.

    Args:
        *modules: the modules, in the order they are applied.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        """Apply every module in turn: :math:`y = f_n(\\dots f_1(x))`."""
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_Indexed):
    """A list of sub-modules :math:`f_0, f_1, \\dots`, registered under the names ``"0"``, ``"1"``, … (chapter 7).

    Used for stacks of layers whose forward pass is written by hand (deep RNNs, tree networks).

    Args:
        modules: the initial modules.
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; return ``self``."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self
