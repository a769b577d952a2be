"""ProximalSplit: the proximal bottleneck-split update of Han, Nakamura & Hong (IEEE Access 2023,
Han et al. (2023)), as a ``torch.optim.Optimizer`` that wraps any other.

A network is split at a bottleneck z = f(x; theta) into a forward network f and a backward network
g(z; phi). With L the loss of one batch, eq. (4) is

    phi   <- phi   - alpha * grad_phi L(g(z; phi), y)
    z~     = z - beta * grad_z L(g(z; phi), y)
    theta <- theta - gamma * grad_theta [ lam/2 * D(f(x; theta) - z~) ]

with D = ||.||_2^2, both gradients taken at the same (old) phi. The paper then "substitutes the update
equation for z~ into the update equation for theta" so that z~ is no longer fixed (eq. 5, Algorithm 1).
The extracted eq. (5) keeps only lam/2 D(beta grad_z L); its prose calls the result "a second-order
gradient method ... that considers both the gradient with respect to z and the gradient with respect to
theta". ``order=2`` offers both readings:

* ``keep_first_order=True`` (the default): z~ = sg(z) - beta grad_z L(z(theta)), the starting z held and
  grad_z L kept in the graph. For D = l2 theta's gradient is
  lam beta (grad_theta L + beta/2 grad_theta ||grad_z L||^2): eq. (4)'s step plus eq. (5)'s term.
* ``keep_first_order=False``: the literal eq. (5), theta follows grad_theta lam/2 D(beta grad_z L) alone.
  f can then shrink grad_z L by saturating instead of by fitting: on Fig. 3's task it stays at chance.

Which reading reproduces which claim, and what the controls (plain backprop with theta at
gamma lam beta and phi at alpha) explain of it: docs/results/proximal.md. In short: the second-order
term is small next to the first-order one, so the kept reading behaves like backprop with split
learning rates.

``order=1`` is eq. (4). ``constraint="l1"`` or ``"huber"`` replaces D (Table 3's ablation; the paper
gives no formula: D is the sum of |v| or of torch's Huber loss with ``huber_delta``), always applied to
z - z~ as in eq. (4). The VAE variant (eqs. 6-7, Algorithm 2): z is a tuple such as ``(mu, sigma)``, and
D sums over its members, each read as above.

alpha and gamma are the inner optimizers' learning rates (``lr_backward``, ``lr_forward``); with an
adaptive inner optimizer such as Adam, beta and lam change the step's direction only through eps and
through the ratio of the first- and second-order terms.

Distributed (torchrun + DistributedDataParallel): wrap f and g in one DDP each. With W ranks and a
per-rank mean loss L_r, the rows of the global batch's grad_z L on rank r are grad_z L_r / W; the step
plugs that scaled gradient into D and multiplies the penalty by W (DDP then averages), so W ranks
give exactly the update of one process on the concatenated batch, for every constraint. (Without
this, the quadratic penalty would be W times too large.)

A step whose loss or gradients are not finite changes no parameter: it raises
:class:`NonFiniteStepError` (or, with a ``grad_scaler``, is skipped by the scaler, as AMP does).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.optim.proximal_errors import (
    Closure,
    DoubleBackwardError,
    NonFiniteStepError,
    check_finite,
    check_inner,
    check_positive,
    check_state_dict,
    explain_missing_gradient,
    inner_name,
    raise_double_backward,
    raise_freed_graph,
    read_closure,
    shapes,
    side_params,
)
from iblearn.optim.proximal_penalty import constraint_norm, drop_negligible, penalty

__all__ = ["Closure", "DoubleBackwardError", "NonFiniteStepError", "ProximalSplit", "split_model"]


class ProximalSplit(torch.optim.Optimizer):
    """Split update of a forward network f (parameters theta) and a backward network g (phi).

    Args:
        forward_params: parameters of f (up to and including the bottleneck).
        backward_params: parameters of g.
        optimizer: the inner ``torch.optim.Optimizer`` class, one instance per side (default Adam).
        lr_backward: alpha, the learning rate of phi.
        lr_forward: gamma, the learning rate of theta.
        beta: the step size of the bottleneck update z~ = z - beta grad_z L.
        lam: lambda, the weight of the proximal term.
        order: 2 (eq. 5, the paper's method) or 1 (eq. 4).
        keep_first_order: with ``order=2``, whether theta's step keeps eq. (4)'s first-order term
            (``True``, the default: the reading that trains) or follows the literal eq. (5) alone
            (``False``). Not for ``order=1``.
        constraint: ``"l2"`` (the paper's), ``"l1"`` or ``"huber"``.
        huber_delta: delta of the Huber constraint.
        world_size: ranks that share one global batch; default: torch.distributed's world size when it is
            initialized, else 1.
        grad_scaler: a ``torch.amp.GradScaler`` for mixed precision: the loss is scaled before the
            inner gradient grad_z L and that gradient unscaled after (PyTorch's gradient-penalty recipe),
            both sides are stepped through the scaler; call ``scaler.update()`` after ``step``.
        **inner_kwargs: passed to both inner optimizers (betas, weight_decay, ...); not ``lr`` or
            ``params``, which the arguments above set.

    Example:
        >>> f, g = nn.Linear(4, 3), nn.Linear(3, 1)
        >>> opt = ProximalSplit(f.parameters(), g.parameters(), lr_backward=1e-2, lr_forward=1e-2)
        >>> x, y = torch.randn(8, 4), torch.randn(8, 1)
        >>> def closure():
        ...     z = f(x)
        ...     return nn.functional.mse_loss(g(z), y), z
        >>> loss = opt.step(closure)
        >>> loss.ndim
        0
    """

    def __init__(
        self,
        forward_params: Iterable[Tensor],
        backward_params: Iterable[Tensor],
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        *,
        lr_backward: float = 1e-3,
        lr_forward: float = 1e-3,
        beta: float = 10.0,
        lam: float = 1.0,
        order: int = 2,
        keep_first_order: bool | None = None,
        constraint: str = "l2",
        huber_delta: float = 1.0,
        world_size: int | None = None,
        grad_scaler: Any = None,
        **inner_kwargs: Any,
    ) -> None:
        forward = side_params(forward_params, "forward_params")
        backward = side_params(backward_params, "backward_params")
        if {id(p) for p in forward} & {id(p) for p in backward}:
            raise ValueError("forward_params, backward_params: share parameters; each belongs to one side")
        if order not in (1, 2) or isinstance(order, bool):
            raise ValueError(f"order: expected 1 (eq. 4) or 2 (eq. 5), got {order!r}")
        if keep_first_order is not None and not isinstance(keep_first_order, bool):
            raise ValueError(f"keep_first_order: expected True or False, got {keep_first_order!r}")
        if order == 1 and keep_first_order is not None:
            raise ValueError("keep_first_order: applies to order=2 only (order=1 is first order already)")
        check_positive(
            lr_backward=lr_backward, lr_forward=lr_forward, beta=beta, lam=lam, huber_delta=huber_delta
        )
        # The inner optimizers get the groups built here, which carry lr and params already: an lr
        # among inner_kwargs would be a default that never applies.
        if "lr" in inner_kwargs:
            raise ValueError(
                "lr: set the inner learning rates with lr_forward (gamma) and lr_backward (alpha)"
            )
        if "params" in inner_kwargs:
            raise ValueError("params: pass the parameters as forward_params and backward_params")
        check_inner(optimizer)
        constraint_norm(constraint, huber_delta)
        defaults = {
            "beta": beta,
            "lam": lam,
            "order": order,
            "keep_first_order": order == 2 and keep_first_order is not False,
            "constraint": constraint,
            "huber_delta": huber_delta,
        }
        super().__init__(
            [
                {"params": forward, "side": "forward", "lr": lr_forward},
                {"params": backward, "side": "backward", "lr": lr_backward},
            ],
            defaults,
        )
        # The inner optimizers work on these very group dicts, so an LR scheduler that changes
        # self.param_groups[i]["lr"] changes theirs. lr is passed too, for optimizers that require it
        # (LARS); the base class's (params, defaults) signature does not tell mypy that subclasses take it.
        build: Callable[..., torch.optim.Optimizer] = optimizer
        self.forward_optimizer = build([self.param_groups[0]], lr=lr_forward, **inner_kwargs)
        self.backward_optimizer = build([self.param_groups[1]], lr=lr_backward, **inner_kwargs)
        # Schedulers read optimizer.defaults (OneCycleLR and CyclicLR look for momentum or betas there),
        # so the inner optimizer's defaults show through, under this wrapper's own.
        self.defaults = {**self.forward_optimizer.defaults, **defaults}
        self.optimizer_class = optimizer
        self.grad_scaler = grad_scaler
        if world_size is not None:
            V.positive_int(world_size, "world_size")
        self.world_size = world_size
        self._second_order_checked = False

    def _world(self) -> int:
        if self.world_size is not None:
            return self.world_size
        dist = torch.distributed
        return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1

    # ----------------------------------------------------------------------------- the step
    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> Tensor:  # type: ignore[override]
        """One update; ``closure()`` runs f and g and returns ``(loss, z)`` (z a tensor or a tuple).

        Returns the loss (detached). The three phases, for a user who clips or logs between them:
        :meth:`compute_gradients` (both sides' ``.grad``, nothing moved), :meth:`backward_step` (phi),
        :meth:`forward_step` (theta).
        """
        loss = self.compute_gradients(closure)
        self.backward_step()
        self.forward_step()
        return loss

    @torch.no_grad()
    def compute_gradients(self, closure: Closure | None) -> Tensor:
        """Overwrite phi's ``.grad`` with grad_phi L and theta's with the gradient of eq. (4)/(5)'s
        penalty, both at the current parameters; move nothing. Returns the loss (detached).

        Raises NonFiniteStepError (without a ``grad_scaler``) if the loss or a gradient is not finite.
        """
        if closure is None:
            raise ValueError("closure: ProximalSplit needs closure() -> (loss, z) to differentiate through z")
        group = self.param_groups[0]
        forward = [p for p in group["params"] if p.requires_grad]
        backward = [p for p in self.param_groups[1]["params"] if p.requires_grad]
        with torch.enable_grad():
            loss, zs = read_closure(closure)
            self.zero_grad(set_to_none=True)
            scaled = self.grad_scaler.scale(loss) if self.grad_scaler is not None else loss
            scale = float(self.grad_scaler.get_scale()) if self.grad_scaler is not None else 1.0
            second = group["order"] == 2
            world = self._world()
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            # One pass through g gives grad_z L and, outside DDP, phi's gradient too. DDP averages only
            # gradients accumulated by .backward(), and only those that do not require grad, so there
            # phi gets a backward of its own.
            wrt = zs if distributed else (*zs, *backward)
            try:
                grads = torch.autograd.grad(
                    scaled, wrt, create_graph=second, retain_graph=True, allow_unused=True
                )
            except RuntimeError as err:
                raise_freed_graph(err)
            grads_z = grads[: len(zs)]
            if any(g is None for g in grads_z):
                raise ValueError("closure: the loss does not depend on the bottleneck z it returned")
            if distributed:
                scaled.backward(inputs=backward, retain_graph=True)
            else:
                for p, g in zip(backward, grads[len(zs) :], strict=True):
                    p.grad = None if g is None else g.detach()
            # Unscaled (eq. 5 needs the true gradient), and as rows of the global batch's gradient.
            grads_z = tuple(g / (scale * world) for g in grads_z)
            if second and group["keep_first_order"] and not self._second_order_checked:
                # theta's first-order term reaches it anyway, so a cut second-order path would go
                # unnoticed: check once that grad_z L depends on theta.
                self._check_second_order_path(zs, grads_z, forward)
            if second:
                # A member that enters the loss linearly has a constant grad_z L, outside the graph: it
                # adds nothing to eq. (5)/(7)'s second-order term (and cannot take a hook).
                for g in grads_z:
                    if g.requires_grad:
                        g.register_hook(drop_negligible)
            term = world * penalty(zs, grads_z, group)
            term = self.grad_scaler.scale(term) if self.grad_scaler is not None else term
            if term.requires_grad:  # else theta gets no gradient, explained below
                self._backward_penalty(term, forward)
        if all(p.grad is None for p in forward):
            explain_missing_gradient(zs, forward, group["order"])
        if self.grad_scaler is None:  # a scaler skips a step whose gradients are not finite itself
            check_finite(loss, [*forward, *backward])
        return loss.detach()

    def backward_step(self) -> None:
        """Step phi (g's parameters) with the inner optimizer, through the ``grad_scaler`` if any."""
        self._inner_step(self.backward_optimizer)

    def forward_step(self) -> None:
        """Step theta (f's parameters) with the inner optimizer, through the ``grad_scaler`` if any."""
        self._inner_step(self.forward_optimizer)

    def _inner_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.grad_scaler is not None:
            self.grad_scaler.step(optimizer)
        else:
            optimizer.step()

    def _check_second_order_path(
        self, zs: tuple[Tensor, ...], grads_z: tuple[Tensor, ...], forward: list[Tensor]
    ) -> None:
        linked = [g.sum() for g in grads_z if g.requires_grad]
        reached: tuple[Tensor | None, ...] = ()
        if linked:
            try:
                reached = torch.autograd.grad(
                    torch.stack(linked).sum(), forward, retain_graph=True, allow_unused=True
                )
            except RuntimeError as err:
                raise_double_backward(err)
        if all(r is None for r in reached):
            explain_missing_gradient(zs, forward, 2)
        self._second_order_checked = True

    @staticmethod
    def _backward_penalty(term: Tensor, forward: list[Tensor]) -> None:
        try:
            term.backward(inputs=forward)
        except RuntimeError as err:
            raise_double_backward(err)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Refused after construction: the step knows two groups only, and no inner optimizer would
        step a third. Pass every parameter at construction, in ``forward_params`` or ``backward_params``.
        """
        if len(self.param_groups) >= 2:  # Optimizer.__init__ adds the forward and backward groups
            raise ValueError(
                "param_group: ProximalSplit steps only its forward and backward groups; build it with "
                "the new parameters in forward_params or backward_params instead"
            )
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ state dicts, copies
    def state_dict(self) -> dict[str, Any]:
        """The wrapper's and both inner optimizers' state dicts, and (``inner``) the inner optimizer's
        class and the parameters' shapes, which :meth:`load_state_dict` checks."""
        return {
            "wrapper": super().state_dict(),
            "forward": self.forward_optimizer.state_dict(),
            "backward": self.backward_optimizer.state_dict(),
            "inner": {"optimizer": inner_name(self.optimizer_class), "shapes": shapes(self.param_groups)},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        check_state_dict(state_dict, self.optimizer_class, shapes(self.param_groups))
        super().load_state_dict(state_dict["wrapper"])
        self.forward_optimizer.load_state_dict(state_dict["forward"])
        self.backward_optimizer.load_state_dict(state_dict["backward"])
        # Loading replaced the group dicts; share them again so that schedulers keep reaching the inner ones.
        self.param_groups[0] = self.forward_optimizer.param_groups[0]
        self.param_groups[1] = self.backward_optimizer.param_groups[0]
        for group in self.param_groups:  # saved before keep_first_order existed: the literal eq. (5) ran
            group.setdefault("keep_first_order", False)

    def __getstate__(self) -> dict[str, Any]:
        """torch's Optimizer pickles only its defaults, state and groups; the inner optimizers, which
        share the group dicts (and keep sharing them in one copy), and the settings go too."""
        return {**super().__getstate__(), **{k: v for k, v in vars(self).items() if k in _COPIED}}


_COPIED = (
    "forward_optimizer",
    "backward_optimizer",
    "optimizer_class",
    "grad_scaler",
    "world_size",
    "_second_order_checked",
)


def split_model(model: nn.Module, at: int | str) -> tuple[nn.Sequential, nn.Sequential]:
    """Split a model whose forward pass is the composition of its children, in order, into (f, g).

    ``at`` an index: f = children[:at], g = children[at:]. ``at`` a name: f ends with that child
    (the bottleneck is its output). Names are kept, so ``f.state_dict()`` keys match the model's.
    """
    children = list(model.named_children())
    if not children:
        raise ValueError("model: has no children to split")
    if isinstance(at, str):
        names = [name for name, _ in children]
        if at not in names:
            raise ValueError(f"at: no child named {at!r}; children are {names}")
        index = names.index(at) + 1
    elif isinstance(at, int) and not isinstance(at, bool):
        index = at if at >= 0 else len(children) + at
    else:
        raise ValueError(f"at: expected a child index or name, got {at!r}")
    if not 0 < index < len(children):
        raise ValueError(
            f"at: the split must leave at least one child on each side, got {at!r} of {len(children)}"
        )
    return nn.Sequential(OrderedDict(children[:index])), nn.Sequential(OrderedDict(children[index:]))
