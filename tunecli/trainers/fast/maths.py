"""The maths of one training step, traced by JAX: forward pass, losses, schedules, optimizer updates.

Follows Keras: the activations (PReLU with per-unit slopes), batch norm, dropout and alpha dropout,
L1/L2, max-norm, the optimizers' update rules and epsilons, per-variable ``clipnorm``, the schedules.
"""

from __future__ import annotations

from typing import Any

from tunecli.trainers.fast.structure import Structure, by_layer, join, layer_shapes, layout, split

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3  # Keras' BatchNormalization defaults


def _activate(name: str, z: Any, alpha: Any) -> Any:
    import jax
    import jax.numpy as jnp

    if name == "leaky_relu":
        return jnp.where(z >= 0, z, alpha * z)
    if name == "elu":
        return jnp.where(z > 0, z, alpha * (jnp.exp(jnp.minimum(z, 0.0)) - 1.0))
    if name == "gelu":
        return jax.nn.gelu(z, approximate=False)
    if name == "mish":
        return z * jnp.tanh(jax.nn.softplus(z))
    return {"relu": jax.nn.relu, "selu": jax.nn.selu, "silu": jax.nn.silu, "swish": jax.nn.silu,
            "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[name](z)


def _batch_norm(h: Any, layer: dict, stats: tuple, row_w: Any) -> tuple[Any, tuple]:
    """Keras' BatchNormalization: batch moments (of the weighted rows) when training, else the moving ones."""
    import jax.numpy as jnp

    mean, var = stats
    if row_w is not None:
        n = jnp.sum(row_w)
        batch_mean = jnp.sum(h * row_w[:, None], axis=0) / n
        batch_var = jnp.sum((h - batch_mean) ** 2 * row_w[:, None], axis=0) / n
        stats = (mean * BN_MOMENTUM + batch_mean * (1 - BN_MOMENTUM), var * BN_MOMENTUM + batch_var * (1 - BN_MOMENTUM))
        mean, var = batch_mean, batch_var
    return (h - mean) / jnp.sqrt(var + BN_EPSILON) * layer["gamma"] + layer["beta"], stats


def forward(st: Structure, theta: Any, hp: dict, x: Any, noise: Any, bn: tuple,
            row_w: Any = None) -> tuple[Any, tuple]:
    """Logits (classification) or predictions, and the batch-norm moving statistics, of the flat ``theta``
    (its padded entries masked out). Training mode when ``noise`` (uint16 per hidden unit, for dropout) and
    ``row_w`` are given."""
    return forward_vars(st, split(st, theta * hp["mask"]), hp, x, noise, bn, row_w)


def forward_vars(st: Structure, variables: list[Any], hp: dict, x: Any, noise: Any, bn: tuple,
                 row_w: Any = None) -> tuple[Any, tuple]:
    """``forward`` of the variables in ``layout`` order (padded entries are zero: no effect on the output)."""
    import jax.numpy as jnp

    layers = by_layer(st, variables)
    h, col, new_bn = x, 0, []
    for i, layer in enumerate(layers[:-1]):
        z = h @ layer["kernel"] + layer["bias"]
        if st.batch_norm == "before":
            z, stats = _batch_norm(z, layer, bn[i], row_w)
            new_bn.append(stats)
        h = jnp.where(z >= 0, z, layer["alpha"] * z) if st.activation == "prelu" else _activate(
            st.activation, z, hp["alpha"])
        if st.batch_norm == "after":
            h, stats = _batch_norm(h, layer, bn[i], row_w)
            new_bn.append(stats)
        if noise is not None and st.dropout != "none":
            width = layer["kernel"].shape[1]
            keep = noise[:, col:col + width].astype(jnp.float32) >= hp["rate"] * 65536.0
            col += width
            if st.dropout == "alpha":
                alpha_p = -SELU_ALPHA * SELU_SCALE
                a = ((1 - hp["rate"]) * (1 + hp["rate"] * alpha_p**2)) ** -0.5
                h = a * jnp.where(keep, h, alpha_p) - a * alpha_p * hp["rate"]
            else:
                h = jnp.where(keep, h / (1.0 - hp["rate"]), 0.0)
    return h @ layers[-1]["kernel"] + layers[-1]["bias"], tuple(new_bn)


def losses(st: Structure, out: Any, y: Any) -> tuple[Any, Any]:
    """Per-row loss and per-row score (correct 0/1, or squared error)."""
    import jax
    import jax.numpy as jnp

    if st.loss == "sparse_ce":
        logp = jax.nn.log_softmax(out)
        loss = -jnp.take_along_axis(logp, y[:, None], axis=1)[:, 0]
        return loss, (jnp.argmax(out, axis=1) == y).astype(jnp.float32)
    err = out[:, 0] - y
    if st.loss == "huber":
        loss = jnp.where(jnp.abs(err) <= 1.0, 0.5 * err**2, jnp.abs(err) - 0.5)
    else:
        loss = jnp.abs(err) if st.loss == "mae" else err**2
    return loss, err


def _penalty(st: Structure, variables: list[Any], reg: list[Any], hp: dict) -> Any:
    """L1/L2 on the hidden kernels (``reg``, split like the variables, marks their entries)."""
    import jax.numpy as jnp

    total = 0.0
    for value, marks in zip(variables, reg):
        if st.l1:
            total = total + hp["l1"] * jnp.sum(jnp.abs(value) * marks)
        if st.l2:
            total = total + hp["l2"] * jnp.sum(value * value * marks)
    return total


def _on_axis(st: Structure, hp: dict, step: Any) -> Any:
    """Optimizer step ``step`` on the trial's schedule axis: after the reused layers are unfrozen the optimizer
    counts from 0 again (a fresh one), while the schedule goes on from ``hp["step0"]``."""
    return step + hp["step0"] if st.freeze else step


def learning_rate(st: Structure, hp: dict, step: Any) -> Any:
    """The schedule at optimizer step ``step`` (0-based), as in ``tunecli.trainers.keras.schedules``."""
    import jax.numpy as jnp

    step = _on_axis(st, hp, step)
    lr, epoch = hp["lr"] * hp["lr_scale"], step / hp["steps_per_epoch"]
    if st.schedule == "power":
        return lr / (1.0 + epoch / hp["s"]) ** hp["c"]
    if st.schedule == "exponential":
        return lr * hp["rate_decay"] ** (epoch / hp["s"])
    if st.schedule == "piecewise":
        passed = jnp.sum((epoch >= hp["boundaries"]).astype(jnp.float32)) if st.n_boundaries else 0.0
        return lr * hp["factor"] ** passed
    if st.schedule == "one_cycle":
        t = jnp.clip(epoch / hp["epochs"], 0.0, 1.0)
        low, last = lr / hp["div"], lr / (hp["div"] * 1000.0)
        up = low + (lr - low) * t / 0.45
        down = lr - (lr - low) * (t - 0.45) / 0.45
        tail = low - (low - last) * (t - 0.9) / 0.1
        return jnp.where(t < 0.45, up, jnp.where(t < 0.9, down, tail))
    if st.schedule == "cosine":
        frac = jnp.minimum(step, hp["decay_steps"]) / hp["decay_steps"]
        return lr * ((1 - hp["cosine_alpha"]) * 0.5 * (1 + jnp.cos(jnp.pi * frac)) + hp["cosine_alpha"])
    return lr


def momentum_term(st: Structure, hp: dict, step: Any, fixed: Any) -> Any:
    """The momentum (SGD) or ``beta_1`` (Adam family) at optimizer step ``step`` (0-based): ``fixed``, or
    under 1cycle ``hp["cycle_high"]`` down to ``hp["cycle_low"]`` over the first 45 % of the run, back up
    over the next 45 %, then high, as ``tunecli.trainers.keras.optimizers.one_cycle_momentum``. Without
    cycling both bounds are ``fixed`` (``initial.hyper``): the value is exactly ``fixed``."""
    import jax.numpy as jnp

    if st.schedule != "one_cycle":
        return fixed
    t = jnp.clip(_on_axis(st, hp, step) / hp["steps_per_epoch"] / hp["epochs"], 0.0, 1.0)
    low, high = hp["cycle_low"], hp["cycle_high"]
    down = high - (high - low) * t / 0.45
    up = low + (high - low) * (t - 0.45) / 0.45
    return jnp.where(t < 0.45, down, jnp.where(t < 0.9, up, high))


def update(st: Structure, hp: dict, p: Any, g: Any, slots: tuple, t: Any, lr: Any, u_prod: Any) -> tuple:
    """``update_vars`` on flat vectors (the parameters, the gradient and each slot)."""
    new, new_slots = update_vars(st, hp, split(st, p), split(st, g), tuple(split(st, s) for s in slots), t, lr, u_prod)
    return join(new), tuple(join(s) for s in new_slots)


def update_vars(st: Structure, hp: dict, params: list[Any], grads: list[Any], slots: tuple, t: Any, lr: Any,
                u_prod: Any) -> tuple[list[Any], tuple]:
    """Keras' update rule, variable by variable (``slots``: one list of variables per optimizer slot); ``t``
    counts steps from 1. Under 1cycle the momentum term is that of step ``t - 1`` (``momentum_term``) wherever
    Keras reads it, its bias corrections too. ``clipnorm`` clips each variable's gradient, as Keras does."""
    import jax.numpy as jnp

    if st.clip == "norm":
        grads = [g * jnp.where(n > hp["clipnorm"], hp["clipnorm"] / jnp.maximum(n, 1e-12), 1.0)
                 for g, n in ((g, jnp.sqrt(jnp.sum(g * g))) for g in grads)]
    elif st.clip == "value":
        grads = [jnp.clip(g, -hp["clipvalue"], hp["clipvalue"]) for g in grads]
    mu = momentum_term(st, hp, t - 1.0, hp["momentum" if st.optimizer in ("momentum", "nesterov") else "beta_1"])
    out = [_rule(st.optimizer, hp, p, g, tuple(s[i] for s in slots), t, lr, u_prod, mu)
           for i, (p, g) in enumerate(zip(params, grads))]
    return [p for p, _ in out], tuple([s[k] for _, s in out] for k in range(len(slots)))


def _rule(name: str, hp: dict, p: Any, g: Any, slots: tuple, t: Any, lr: Any, u_prod: Any, mu: Any) -> tuple:
    """One variable's update by optimizer ``name``; ``mu`` is the momentum (SGD) or ``beta_1`` of this step."""
    import jax.numpy as jnp

    eps, b2 = 1e-7, hp["beta_2"]
    if name == "sgd":
        return p - lr * g, ()
    if name in ("momentum", "nesterov"):
        m = mu * slots[0] - lr * g
        step = mu * m - lr * g if name == "nesterov" else m
        return p + step, (m,)
    if name == "adagrad":
        acc = slots[0] + g * g
        return p - lr * g / jnp.sqrt(acc + eps), (acc,)
    if name == "rmsprop":
        v = hp["rho"] * slots[0] + (1 - hp["rho"]) * g * g
        return p - lr * g / jnp.sqrt(v + eps), (v,)
    b1 = mu
    m = slots[0] + (g - slots[0]) * (1 - b1)
    if name == "adamax":
        u = jnp.maximum(b2 * slots[1], jnp.abs(g))
        return p - lr * m / ((1 - b1**t) * (u + eps)), (m, u)
    v = slots[1] + (g * g - slots[1]) * (1 - b2)
    if name == "nadam":
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        m_hat = u_next * m / (1 - u_prod * u_next) + (1 - u_t) * g / (1 - u_prod)
        return p - lr * m_hat / (jnp.sqrt(v / (1 - b2**t)) + eps), (m, v)
    if name == "adamw":
        p = p - p * hp["weight_decay"] * lr
    alpha = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    return p - alpha * m / (jnp.sqrt(v) + eps), (m, v)


def n_slots(optimizer: str) -> int:
    return {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1}.get(optimizer, 2)


def train_step(st: Structure, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """One optimizer step on batch number ``state["pos"]`` of this epoch's ``idx``.

    ``noise`` holds the dropout noise of a chunk of ``len(noise)`` batches (chunks start at multiples
    of it): batch ``pos`` takes ``noise[pos % len(noise)]``. The state's ``theta`` and ``slots`` are flat
    vectors; inside, the step works on their variables (``split``).
    """
    carry = step(st, carry_of(st, state), hp, inputs_of(st, hp), x, y, idx, row_w, noise)
    return state_of(state, carry)


def train_epoch(st: Structure, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """The next ``len(noise)`` steps of the epoch (fewer at its end) from ``state["pos"]``, in one compiled
    loop that carries the variables (split once, joined once). A chunk of batches, not the whole epoch, so
    that the dropout noise on the device stays bounded."""
    import jax
    import jax.numpy as jnp

    inputs = inputs_of(st, hp)
    count = jnp.minimum(noise.shape[0], idx.shape[0] - state["pos"])
    carry = jax.lax.fori_loop(0, count, lambda _, c: step(st, c, hp, inputs, x, y, idx, row_w, noise),
                              carry_of(st, state))
    return state_of(state, carry)


def carry_of(st: Structure, state: dict) -> dict:
    """The state as a compiled loop carries it: variables, not flat vectors."""
    return {**state, "theta": split(st, state["theta"]), "slots": tuple(split(st, s) for s in state["slots"])}


def state_of(state: dict, carry: dict) -> dict:
    """The carried state back as the trainer keeps it: flat vectors."""
    return {**carry, "theta": join(carry["theta"]), "slots": tuple(join(s) for s in carry["slots"])}


def inputs_of(st: Structure, hp: dict) -> dict:
    """The per-entry inputs split like the variables: the mask of real entries, the L1/L2 marks, and under
    freezing whether each variable trains."""
    out = {"mask": split(st, hp["mask"]), "reg": split(st, hp["reg"])}
    if st.freeze:
        out["train"] = [hp["var_train"][i] > 0 for i in range(len(layout(st)))]
    return out


def step(st: Structure, state: dict, hp: dict, inputs: dict, x: Any, y: Any, idx: Any, row_w: Any,
         noise: Any) -> dict:
    """One optimizer step on a carried state (``carry_of``) with the split inputs (``inputs_of``)."""
    import jax
    import jax.numpy as jnp

    pos = state["pos"]
    rows, w = idx[pos], row_w[pos]

    def objective(variables: list[Any]) -> tuple[Any, Any]:
        out, bn = forward_vars(st, variables, hp, x[rows], noise[pos % noise.shape[0]], state["bn"], w)
        loss, score = losses(st, out, y[rows])
        return jnp.sum(loss * w) / jnp.sum(w) + _penalty(st, variables, inputs["reg"], hp), (score, bn)

    (total, (score, bn)), grads = jax.value_and_grad(objective, has_aux=True)(state["theta"])
    # padded entries start at zero and get no gradient, so they stay zero: no effect, as if masked
    grads = [g * m for g, m in zip(grads, inputs["mask"])]
    t = state["t"] + 1.0
    lr = learning_rate(st, hp, state["t"])
    u_prod = state["u_prod"] * momentum_term(st, hp, state["t"], hp["beta_1"]) * (1.0 - 0.5 * 0.96**t)
    theta, slots = update_vars(st, hp, state["theta"], grads, state["slots"], t, lr, u_prod)
    if st.max_norm:
        theta = _max_norm(st, theta, hp["max_norm"])
    if st.freeze:  # frozen variables keep their values and slots, as Keras' untrainable ones
        keep = inputs["train"]
        theta = [jnp.where(k, new, old) for k, new, old in zip(keep, theta, state["theta"])]
        slots = tuple([jnp.where(k, new, old) for k, new, old in zip(keep, s_new, s_old)]
                      for s_new, s_old in zip(slots, state["slots"]))
    # Keras' "loss": the mean data loss plus the penalty, averaged over the epoch's rows
    sums = _sums(st, total * jnp.sum(w), score, w)
    return {**state, "theta": theta, "slots": slots, "t": t, "u_prod": u_prod, "pos": pos + 1,
            "stats": state["stats"] + sums, "bn": bn}


def _sums(st: Structure, loss_sum: Any, score: Any, row_w: Any) -> Any:
    """[loss, correct rows or squared error, absolute error, rows], summed over the weighted rows."""
    import jax.numpy as jnp

    if st.loss == "sparse_ce":
        return jnp.stack([loss_sum, jnp.sum(score * row_w), 0.0, jnp.sum(row_w)])
    return jnp.stack([loss_sum, jnp.sum(score * score * row_w), jnp.sum(jnp.abs(score) * row_w), jnp.sum(row_w)])


def _max_norm(st: Structure, variables: list[Any], limit: Any) -> list[Any]:
    """Keras' MaxNorm on each hidden kernel (column norms at most ``limit``)."""
    import jax.numpy as jnp

    last = len(layer_shapes(st)) - 1
    out = []
    for (name, i, _), w in zip(layout(st), variables):
        if name == "kernel" and i < last:
            norms = jnp.sqrt(jnp.sum(w * w, axis=0, keepdims=True))
            w = w * jnp.clip(norms, 0.0, limit) / (1e-7 + norms)
        out.append(w)
    return out


def evaluate(st: Structure, theta: Any, bn: tuple, hp: dict, x: Any, y: Any, row_w: Any, noise: Any) -> Any:
    """``_sums`` over the chunk. Under MC dropout ``noise`` holds one draw per pass (passes, rows, units) and
    the scores are those of the mean prediction (class probabilities or values) over the passes; batch norm
    stays in inference mode. Without MC dropout ``noise`` is unused."""
    import jax
    import jax.numpy as jnp

    if st.mc_dropout:
        outs = jax.vmap(lambda n: forward(st, theta, hp, x, n, bn)[0])(noise)
        if st.loss == "sparse_ce":  # log of the mean probability: log_softmax leaves it as it is
            out = jnp.log(jnp.maximum(jnp.mean(jax.nn.softmax(outs), axis=0), 1e-30))
        else:
            out = jnp.mean(outs, axis=0)
    else:
        out = forward(st, theta, hp, x, None, bn)[0]
    loss, score = losses(st, out, y)
    penalty = _penalty(st, split(st, theta), split(st, hp["reg"]), hp)
    return _sums(st, jnp.sum((loss + penalty) * row_w), score, row_w)
