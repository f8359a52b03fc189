"""Training throughput of the course's network: samples/second over one epoch.

Network: hidden [100]*5, weight scale 5e-2, softmax loss, batch 100, 4000 synthetic examples of
64 and of 3072 features, float32 and float64, with the rules sgd and adam. Compared:

  ours   descent_engine.network (FullyConnectedNet + Solver.step, rules from the registry)
  naive  a straightforward NumPy version written below (fresh temporaries everywhere, as the
         course's layer functions do, including dx of the first layer)
  torch  torch.nn + torch.optim on CPU with the same number of threads (skipped if not installed;
         torch is not a dependency of descent-tui)

Each figure is the best of a few epochs after a warm-up epoch; the three versions take turns
epoch by epoch, so a burst of load from another process hits them alike. Prints ratios, asserts
nothing.
Run:  python benchmarks/network.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from descent_engine.network import FullyConnectedNet, Solver

HIDDEN = [100] * 5
N, BATCH, CLASSES, SCALE = 4000, 100, 10, 5e-2
LRS = {"sgd": 1e-2, "adam": 1e-3}


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:
        env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        return int(env) if env else (os.cpu_count() or 1)


def data(d: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, d)).astype(dtype), rng.integers(0, CLASSES, N)


def best_of(epochs: list, repeats: int) -> list[float]:
    """Samples per second of each epoch function: the best of ``repeats`` turns after a warm-up."""
    for epoch in epochs:
        epoch()  # warm-up
    best = [float("inf")] * len(epochs)
    for _ in range(repeats):
        for i, epoch in enumerate(epochs):
            t = time.perf_counter()
            epoch()
            best[i] = min(best[i], time.perf_counter() - t)
    return [(N // BATCH) * BATCH / b for b in best]


# ---------------------------------------------------------------------------------------------
def ours(X, y, dtype, rule):
    model = FullyConnectedNet(HIDDEN, X.shape[1], CLASSES, weight_scale=SCALE, dtype=dtype, rng=0)
    tiny = {"X_train": X, "y_train": y, "X_val": X[:1], "y_val": y[:1]}

    def epoch():
        # a fresh Solver per epoch: one epoch of steps; accuracy is checked on 1 example only
        s = Solver(model, tiny, update_rule=rule, optim_config={"lr": LRS[rule]}, batch_size=BATCH,
                   num_epochs=1, num_train_samples=1, verbose=False)
        while not s.done:
            s.step()
    return epoch


def naive(X, y, dtype, rule):
    rng = np.random.default_rng(0)
    dims = [X.shape[1], *HIDDEN, CLASSES]
    params = {}
    for i in range(len(dims) - 1):
        params[f"W{i}"] = (rng.standard_normal((dims[i], dims[i + 1])) * SCALE).astype(dtype)
        params[f"b{i}"] = np.zeros(dims[i + 1], dtype)
    state = {k: {"m": np.zeros_like(v), "v": np.zeros_like(v), "t": 0} for k, v in params.items()}
    L = len(dims) - 1

    def loss_grads(xb, yb):
        caches, h = [], xb
        for i in range(L):
            a = h.dot(params[f"W{i}"]) + params[f"b{i}"]
            caches.append((h, a))
            h = np.maximum(0, a) if i < L - 1 else a
        shifted = h - np.max(h, axis=1, keepdims=True)
        probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
        n = xb.shape[0]
        loss = -np.sum(np.log(probs[np.arange(n), yb])) / n
        d = probs.copy()
        d[np.arange(n), yb] -= 1
        d /= n
        grads = {}
        for i in range(L - 1, -1, -1):
            h_in, a = caches[i]
            if i < L - 1:
                d = d * (a > 0)
            grads[f"W{i}"] = h_in.T.dot(d)
            grads[f"b{i}"] = np.sum(d, axis=0)
            d = d.dot(params[f"W{i}"].T)
        return loss, grads

    def epoch():
        for _ in range(N // BATCH):
            idx = np.random.choice(N, BATCH)
            _, grads = loss_grads(X[idx], y[idx])
            for k, g in grads.items():
                if rule == "sgd":
                    params[k] = params[k] - LRS[rule] * g
                else:
                    st = state[k]
                    st["t"] += 1
                    st["m"] = 0.9 * st["m"] + 0.1 * g
                    st["v"] = 0.999 * st["v"] + 0.001 * g ** 2
                    mb, vb = st["m"] / (1 - 0.9 ** st["t"]), st["v"] / (1 - 0.999 ** st["t"])
                    params[k] = params[k] - LRS[rule] * mb / (np.sqrt(vb) + 1e-8)
    return epoch


def torch_epoch(torch, X, y, dtype, rule):
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    dims = [X.shape[1], *HIDDEN, CLASSES]
    layers = []
    for i in range(len(dims) - 1):
        lin = torch.nn.Linear(dims[i], dims[i + 1], dtype=tdtype)
        torch.nn.init.normal_(lin.weight, 0.0, SCALE)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = (torch.optim.SGD if rule == "sgd" else torch.optim.Adam)(net.parameters(), lr=LRS[rule])
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)

    def epoch():
        for _ in range(N // BATCH):
            idx = torch.randint(0, N, (BATCH,), generator=gen)
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return epoch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    threads = blas_threads()
    try:
        import torch

        torch.set_num_threads(threads)
        torch_note = f"torch {torch.__version__} with {threads} thread(s)"
    except ImportError:
        torch = None
        torch_note = "torch is not installed: its column is skipped (pip install torch to compare)"
    print(f"one epoch of {N} examples, batch {BATCH}, hidden {HIDDEN}; NumPy {np.__version__} BLAS threads "
          f"{threads}; {torch_note}")
    head = f"{'features':>8} {'dtype':>8} {'rule':>5} {'ours/s':>10} {'naive/s':>10} {'torch/s':>10} " \
           f"{'ours/naive':>10} {'ours/torch':>10}"
    print(head)
    for d in (64, 3072):
        for dtype in (np.float32, np.float64):
            X, y = data(d, dtype)
            for rule in LRS:
                epochs = [ours(X, y, dtype, rule), naive(X, y, dtype, rule)]
                if torch:
                    epochs.append(torch_epoch(torch, X, y, dtype, rule))
                o, nv, t = (best_of(epochs, repeats) + [float("nan")])[:3]
                print(f"{d:>8} {np.dtype(dtype).name:>8} {rule:>5} {o:>10.0f} {nv:>10.0f} {t:>10.0f} "
                      f"{o / nv:>10.2f} {o / t:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
