"""Soak test of planning and labelling: plan N default samples (no render) and report the failure rate.

    python benchmarks/soak_plan.py --n 100000 --workers 2 [--mode default] [--seed 0]

Every sample goes through the job's planning, posing, captioning and label code
(:func:`synth.render.plancheck.check_planned`); a failure is an exception, a non-finite value
or a label-schema error. Prints the failures (first 20), the failure rate and samples/s; exits 1
when any sample failed. Target: 0 failures in >= 100,000 default samples.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import signal
import sys
import time

from synth.render.plancheck import MODES, check_chunk


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="samples to plan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=sorted(MODES), default="default", help="job configuration")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=500)
    a = ap.parse_args()
    tasks = [(a.mode, a.seed, s, min(s + a.chunk, a.n)) for s in range(0, a.n, a.chunk)]
    t0 = time.perf_counter()
    done, failures = 0, []
    ctx = multiprocessing.get_context("spawn")

    def stop(signum: int, _frame: object) -> None:  # SIGTERM (e.g. from `timeout`): report what was done
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    interrupted = False
    pool = cf.ProcessPoolExecutor(max_workers=a.workers, mp_context=ctx)
    try:
        for _mode, _seed, n, bad in pool.map(check_chunk, tasks):
            done += n
            failures += bad
            if done % (10 * a.chunk) == 0:
                print(f"{done}/{a.n} planned, {len(failures)} failed, {done / (time.perf_counter() - t0):.1f} samples/s",
                      file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once is enough: report and leave
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        interrupted = True
        print("interrupted: reporting the samples planned so far", file=sys.stderr, flush=True)
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    dt = time.perf_counter() - t0
    for i, why in failures[:20]:
        print(f"sample {i}: {why}")
    print(f"{'INTERRUPTED: ' if interrupted else ''}mode {a.mode}, seed {a.seed}: {done} samples planned, {len(failures)} failed "
          f"(rate {len(failures) / max(done, 1):.2e}), {dt:.0f} s, {done / dt:.1f} samples/s with {a.workers} workers")
    return 1 if failures or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
