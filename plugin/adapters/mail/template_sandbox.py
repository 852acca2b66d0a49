"""The Jinja sandbox merchants' e-mail templates run in, with a budget for each render.

Jinja's sandbox keeps a template away from Python's internals, but not from doing unbounded
work: nested loops ran for minutes, and `"x" * 10**9` or a doubling `~` would fill the memory.
A render here is bounded by counting, in the thread that renders (no signals, no second
thread, so it works the same in a web request and in the worker):

- **steps**: the compiled template calls `environment.spend_step()` on entering every block
  body (each loop pass, each branch taken, each macro call; see `_BudgetedCodeGenerator`),
  and every filter or function call spends one too. A render may take `MAX_STEPS`, and as
  a backstop `MAX_CPU_SECONDS` of the rendering thread's own CPU time (`time.thread_time`,
  checked at each step, so a busy machine does not fail a small template; the garbage
  collector is paused meanwhile, so a collection of the whole process is not charged to it).
- **sizes**: no value a template makes may exceed `MAX_VALUE_CHARS` characters or items, and
  this is checked *before* the value is made where it could be large: `*`, `**`, `+` and `~`
  (concatenation), `range` (at most `MAX_RANGE` items), `join` and `replace`, numeric
  arguments of filters and methods. Filters and methods that multiply text by a number in a
  way that cannot be checked up front (`indent`, `format`, `str.format`, `expandtabs`, ...)
  and `%` on text are not available.
- **text**: all the text a render writes, into its output or into `{% set %}` blocks, macro
  results and other buffers (see `_OutputBuffer`), stops at `MAX_TEXT_CHARS`.

Anything over budget raises `RenderBudgetExceeded` (a Jinja `SecurityError`), whose message
says which limit was met.
"""

from __future__ import annotations

import contextvars
import gc
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_STEPS = 10_000
MAX_CPU_SECONDS = 0.5
MAX_VALUE_CHARS = 100_000
MAX_TEXT_CHARS = 100_000
MAX_RANGE = 1_000
MAX_INT_BITS = 4_096

# Filters whose result size depends on an argument in a way not checked up front.
_DENIED_FILTERS = frozenset({"indent", "format", "wordwrap", "center"})
_DENIED_GLOBALS = frozenset({"lipsum"})
# Methods of text that can make large text out of small arguments (and `format`, below).
_DENIED_METHODS = frozenset({"expandtabs", "center", "ljust", "rjust", "zfill", "join", "replace"})


class RenderBudgetExceeded(SecurityError):
    """A template tried to do more work, or make more text, than a render may."""


@dataclass
class _Budget:
    steps: int = MAX_STEPS
    text: int = MAX_TEXT_CHARS
    cpu_deadline: float = field(default_factory=lambda: time.thread_time() + MAX_CPU_SECONDS)

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise RenderBudgetExceeded(
                f"more than {MAX_STEPS:,} steps (loop passes, calls and filters)"
            )
        if time.thread_time() > self.cpu_deadline:
            raise RenderBudgetExceeded(f"more than {MAX_CPU_SECONDS:g} s of work")

    def write(self, text: str) -> str:
        self.text -= len(text)
        if self.text < 0:
            raise RenderBudgetExceeded(f"more than {MAX_TEXT_CHARS:,} characters of text")
        return text


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "template_budget", default=None
)


def _current_budget() -> _Budget:
    budget = _budget.get()
    if budget is None:
        raise RenderBudgetExceeded("templates render only through render_within_budget")
    return budget


def _size(value: Any) -> int:
    return len(value) if isinstance(value, Sized) else 0


def _check_size(value: Any, what: str = "a value") -> Any:
    if _size(value) > MAX_VALUE_CHARS:
        raise RenderBudgetExceeded(f"{what} longer than {MAX_VALUE_CHARS:,} characters")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise RenderBudgetExceeded(f"a number larger than {MAX_INT_BITS:,} bits")
    return value


def _check_arguments(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _check_size(value)
        if isinstance(value, int) and abs(value) > MAX_VALUE_CHARS:
            raise RenderBudgetExceeded(f"a number argument above {MAX_VALUE_CHARS:,}")


def _budgeted_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderBudgetExceeded(f"a range of more than {MAX_RANGE:,} numbers")
    return numbers


def _checked_join(value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if attribute is not None:
        raise RenderBudgetExceeded("join(attribute=...) is not available; use map first")
    total = sum(len(str(item)) for item in items) + len(d) * max(0, len(items) - 1)
    if total > MAX_VALUE_CHARS:
        raise RenderBudgetExceeded(f"a value longer than {MAX_VALUE_CHARS:,} characters")
    return d.join(str(item) for item in items)


def _checked_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    found = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > MAX_VALUE_CHARS:
        raise RenderBudgetExceeded(f"a value longer than {MAX_VALUE_CHARS:,} characters")
    return text.replace(str(old), str(new), -1 if count is None else count)


def _budgeted_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    pass_arg = getattr(function, "jinja_pass_arg", None)  # @pass_context and the like

    def budgeted(*args: Any, **kwargs: Any) -> Any:
        _current_budget().spend()
        skip = 0 if pass_arg is None else 1  # the context Jinja passes first
        _check_size(args[skip])  # the value filtered
        _check_arguments(args[skip + 1 :], kwargs)
        return _check_size(function(*args, **kwargs))

    if pass_arg is not None:
        budgeted.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    budgeted.__name__ = getattr(function, "__name__", "filter")
    return budgeted


class _OutputBuffer(list[str]):
    """Where compiled templates collect the text of `{% set %}` blocks, macros and filter
    blocks before joining it: each piece is counted as it is written."""

    def append(self, text: str) -> None:
        super().append(_current_budget().write(text))

    def extend(self, texts: Iterable[str]) -> None:
        budget = _current_budget()
        super().extend(budget.write(text) for text in texts)


class _BudgetedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with a step spent on entering every block body, text buffers
    that count what is written into them, and `~` (concatenation) checked before the text is
    joined."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def blockvisit(self, nodes: Iterable[nodes.Node], frame: Frame) -> None:
        self.writeline("environment.spend_step()")
        super().blockvisit(nodes, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's name
        self.write("environment.checked_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BudgetedSandbox(SandboxedEnvironment):
    """A plain-text sandboxed environment whose renders stay within the budget above."""

    code_generator_class = _BudgetedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        # Plain text: nothing is escaped (autoescape off). No constant folding: every
        # expression is evaluated at render time, inside the budget.
        super().__init__(
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            optimized=False,
        )
        filters = {
            name: _budgeted_filter(function)
            for name, function in self.filters.items()
            if name not in _DENIED_FILTERS
        }
        filters["join"] = _budgeted_filter(_checked_join)
        filters["replace"] = _budgeted_filter(_checked_replace)
        self.filters = filters
        self.globals = {k: v for k, v in self.globals.items() if k not in _DENIED_GLOBALS}
        self.globals["range"] = _budgeted_range

    # -- called by compiled templates -----------------------------------------------------

    def spend_step(self) -> None:
        """One block entered (see `_BudgetedCodeGenerator`)."""
        _current_budget().spend()

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        """`a ~ b ~ ...`, refused before joining when the result would be too long."""
        texts = [str(part) for part in parts]
        if sum(len(text) for text in texts) > MAX_VALUE_CHARS:
            raise RenderBudgetExceeded(f"a value longer than {MAX_VALUE_CHARS:,} characters")
        return "".join(texts)

    @staticmethod
    def output_buffer() -> list[str]:
        """A new text buffer (see `_BudgetedCodeGenerator.buffer`)."""
        return _OutputBuffer()

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """A function or method called by the template: one step, checked arguments."""
        _current_budget().spend()
        if getattr(__obj, "__name__", "") in _DENIED_METHODS and isinstance(
            getattr(__obj, "__self__", None), str
        ):
            raise RenderBudgetExceeded(f"the text method {__obj.__name__}() is not available")
        _check_arguments(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map` (which Jinja wraps when they are looked up, called
        or not) are refused: their widths could ask for text of any length."""
        if super().wrap_str_format(value) is None:
            return None

        def refused(*_args: Any, **_kwargs: Any) -> str:
            raise RenderBudgetExceeded(f"the text method {value.__name__}() is not available")

        return refused

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `+` and `%`, refused before computing a result over the limits."""
        problem = _binop_problem(operator, left, right)
        if problem:
            raise RenderBudgetExceeded(problem)
        return _check_size(super().call_binop(context, operator, left, right))


def _binop_problem(operator: str, left: Any, right: Any) -> str | None:
    too_long = f"a value longer than {MAX_VALUE_CHARS:,} characters"
    too_large = f"a number larger than {MAX_INT_BITS:,} bits"
    both_int = isinstance(left, int) and isinstance(right, int)
    if operator == "%" and isinstance(left, str):
        return "formatting text with % is not available"
    if operator == "+" and _size(left) + _size(right) > MAX_VALUE_CHARS:
        return too_long
    if operator == "**" and both_int and abs(left) > 1 and right > 0:
        return too_large if left.bit_length() * right > MAX_INT_BITS else None
    if operator != "*":
        return None
    if both_int:
        return too_large if left.bit_length() + right.bit_length() > MAX_INT_BITS else None
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            return too_long if len(sequence) * max(times, 0) > MAX_VALUE_CHARS else None
    return None


class _CollectorPaused:
    """The garbage collector off while any thread renders, on again when the last one ends
    (if it was on). A full collection costs CPU time in proportion to the whole process's
    memory, seconds in a large one, and the thread it lands in pays it: charged to a render,
    it would refuse a small template as too much work. A render makes at most
    `MAX_TEXT_CHARS` of text and values of `MAX_VALUE_CHARS`, so what it leaves to collect
    is bounded; the next allocation after it collects as usual."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renders = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._renders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._renders += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._renders -= 1
            if self._renders == 0 and self._was_enabled:
                gc.enable()


_collector_paused = _CollectorPaused()


def render_within_budget(template: Template, context: Mapping[str, Any]) -> str:
    """Render `template` (from a `BudgetedSandbox`) or raise RenderBudgetExceeded."""
    with _collector_paused:
        budget = _Budget()
        token = _budget.set(budget)
        try:
            return "".join(budget.write(text) for text in template.generate(context))
        finally:
            _budget.reset(token)
