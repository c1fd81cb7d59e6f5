"""Benchmarks: print figures, never assert them (see benchmarks/README.md).

    python benchmarks/bench.py fits       compile vs sampling time, bulk ESS per second, peak memory:
                                          the shipped primary fits, PyMC's NUTS beside nutpie, cold and warm caches
    python benchmarks/bench.py scaling    pooled_rate on 15, 150 and 1,500 simulated studies, both samplers
    python benchmarks/bench.py sharing    four fits of one model structure: four processes against one process
    python benchmarks/bench.py threads    three fits at sampler.threads 1 and 2 (two one-thread fits side by side)
    python benchmarks/bench.py workflow   the whole analysis on a copy of config/ and data/: cold (empty results and
                                          compile caches), warm no-op, after a prior edit, after adding a study
    python benchmarks/bench.py compile    the shipped primary placebo_adjusted, time_course and pooled_rate fits as a
                                          fit job makes them: pm.Data nodes, compile and sampling seconds (wall and
                                          CPU), leapfrog steps per draw, smallest bulk ESS; --repeats fresh processes
                                          each
    python benchmarks/bench.py validation the validation target (snakemake validate) on a copy of the repository at
                                          --replications replications: wall time and jobs
    python benchmarks/bench.py all        every section; --write replaces the printed sections of RESULTS.md

Every measurement runs in a fresh process (as a Snakemake job does), so
import and compile costs are counted the way the pipeline pays them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crpsmeta.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
# the top-level parameters whose draws and ESS a measurement reports: the prior slots each model reads
KEY = {
    name: [k for k in MODELS[name].prior_keys if k != "definition_offset_sd"]
    for name in ("placebo_adjusted", "time_course")
}
KEY["pooled_rate"] = ["mu", "tau"]


def _config() -> dict:
    """config/config.yaml with the schema's defaults filled in, as the workflow sees it."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config


def _shipped_tables():
    """data/studies.csv and data/outcomes.csv, validated as the workflow reads them."""
    import yaml

    from crpsmeta.inputs.tables import load_tables

    schemas = {
        n: yaml.safe_load((ROOT / "workflow" / "schemas" / f"{n}.schema.yaml").read_text())
        for n in ("studies", "outcomes")
    }
    return load_tables(
        ROOT / "data" / "studies.csv", ROOT / "data" / "outcomes.csv", schemas["studies"], schemas["outcomes"]
    )


# ---- one measurement, in its own process -------------------------------------
def _one(args) -> dict:
    t_start = time.perf_counter()
    import resource

    import arviz as az
    import numpy as np
    import pymc as pm

    from crpsmeta.calibration.simulate import simulate_pooled_rate
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.models.build import build_model
    from crpsmeta.registry import priors_block

    t_imported = time.perf_counter()
    config = _config()
    priors = priors_block(config["prior_sets"][config["prior_set"]], args.model)
    options = dict(config[args.model])
    if args.k:
        used = simulate_pooled_rate(args.k, -0.2, 0.6, np.random.default_rng(args.k))
    else:
        used, _ = model_inputs(*_shipped_tables(), model=args.model, unit=args.unit, options=options)
    model = build_model(args.model, used, priors, options)
    s = {**config["sampler"], **({"target_accept": args.target_accept} if args.target_accept else {})}
    t0 = time.perf_counter()
    if args.backend == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
        t1 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=s["draws"],
            tune=s["tune"],
            chains=s["chains"],
            cores=2,
            seed=1,
            target_accept=s["target_accept"],
            progress_bar=False,
        )
    else:
        model.logp_dlogp_function(ravel_inputs=True)  # the gradient pm.sample compiles (fills the C cache)
        t1 = time.perf_counter()
        with model:
            idata = pm.sample(
                draws=s["draws"],
                tune=s["tune"],
                chains=s["chains"],
                cores=2,
                random_seed=1,
                target_accept=s["target_accept"],
                progressbar=False,
                compute_convergence_checks=False,
            )
    t2 = time.perf_counter()
    ess = az.ess(idata, var_names=[v for v in KEY[args.model] if v in idata.posterior], method="bulk")
    min_ess = float(min(float(ess[v].min()) for v in ess.data_vars))
    divergences = int(idata.sample_stats["diverging"].sum())
    compile_s, sampling_s, wall_s = t1 - t0, t2 - t1, t2 - t_start
    steps = idata.sample_stats["n_steps"]  # leapfrog steps (gradient evaluations) per draw
    return {
        "model": args.model,
        "unit": args.unit,
        "k": args.k or len(used),
        "backend": args.backend,
        "target_accept": s["target_accept"],
        "mean_leapfrog_steps": round(float(steps.mean()), 1),
        "cache": args.cache,
        "import_s": round(t_imported - t_start, 2),
        "compile_s": round(compile_s, 2),
        "sampling_s": round(sampling_s, 2),
        "wall_s": round(wall_s, 2),
        "min_bulk_ess": round(min_ess),
        "ess_per_s_sampling": round(min_ess / sampling_s),
        "ess_per_s_wall": round(min_ess / wall_s),
        "divergences": divergences,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _compile_one(args) -> dict:
    """The shipped primary fit of ``args.model`` at ``args.unit``, built and sampled as a fit job does
    (config's sampler and prior families, the fit's own seed; nutpie through the workflow's compile call),
    timed in wall and CPU seconds of this process (the machine may be shared)."""
    t_start = time.perf_counter()
    import hashlib

    import arviz as az
    import numpy as np
    import nutpie
    import pytensor

    from crpsmeta.fitting import sampling
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.models.build import build_model
    from crpsmeta.plan import FitSpec, child_seeds, model_options, prior_families, sampler_settings
    from crpsmeta.registry import priors_block

    t_imported = time.perf_counter()
    config = _config()
    priors = priors_block(config["prior_sets"][config["prior_set"]], args.model)
    options = {**model_options(config, args.model), "prior_families": prior_families(config, args.model)}
    used, _ = model_inputs(
        *_shipped_tables(), model=args.model, unit=args.unit, options=model_options(config, args.model)
    )
    model = build_model(args.model, used, priors, options)
    settings = sampling.SamplerSettings.from_dict(sampler_settings(config), cores=int(config["sampler"]["threads"]))
    seed = FitSpec(args.model, args.unit, config["prior_set"], "primary").seed(config["seed"])
    post_seed = child_seeds(seed, 3)[1]  # the posterior's seed in sampling.sample_model
    with pytensor.config.change_flags(numba__fastmath=False):
        w0, c0 = time.perf_counter(), time.process_time()
        compiled = sampling._nutpie_compiled(model, reuse=False)
        w1, c1 = time.perf_counter(), time.process_time()
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=max(1, min(settings.cores, settings.chains)),
            seed=post_seed,
            target_accept=settings.target_accept,
            progress_bar=False,
            save_warmup=False,
        )
        w2, c2 = time.perf_counter(), time.process_time()
    key = [v for v in KEY[args.model] if v in idata.posterior]
    ess = az.ess(idata, var_names=key, method="bulk")
    draws = hashlib.sha256(b"".join(np.ascontiguousarray(idata.posterior[v].values).tobytes() for v in key))
    return {
        "model": args.model,
        "unit": args.unit,
        "data_nodes": len(model.data_vars),
        "stored_per_draw": int(compiled.n_expanded),
        "import_s": round(t_imported - t_start, 2),
        "compile_s": round(w1 - w0, 2),
        "compile_cpu_s": round(c1 - c0, 2),
        "sampling_s": round(w2 - w1, 2),
        "sampling_cpu_s": round(c2 - c1, 2),
        "leapfrog_per_draw": round(float(idata.sample_stats["n_steps"].mean()), 1),
        "min_bulk_ess": round(float(min(float(ess[v].min()) for v in ess.data_vars))),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "draws_sha256": draws.hexdigest()[:12],
    }


COMPILE_COLUMNS = [
    "model",
    "unit",
    "run",
    "data_nodes",
    "stored_per_draw",
    "import_s",
    "compile_s",
    "compile_cpu_s",
    "sampling_s",
    "sampling_cpu_s",
    "leapfrog_per_draw",
    "min_bulk_ess",
    "divergences",
    "draws_sha256",
]


def bench_compile(repeats: int = 2) -> str:
    """The shipped primary fits, each in ``repeats`` fresh processes after an untimed one that warms a compile
    directory of its own (as every Snakemake job after the first finds PyTensor's caches)."""
    import hashlib

    rows = []
    for model, unit in (("placebo_adjusted", "joint"), ("time_course", "joint"), ("pooled_rate", "immediate")):
        compiledir = tempfile.mkdtemp(prefix="bench-pytensor-")
        _PRIMED[("compile", model)] = compiledir
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
        cmd = [sys.executable, __file__, "_compile", "--model", model, "--unit", unit]
        for run in range(repeats + 1):
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=3600)
            except subprocess.CalledProcessError as exc:
                raise SystemExit(f"measurement failed: {' '.join(cmd)}\n{exc.stderr[-3000:]}") from None
            if run == 0:
                continue  # untimed: fills the compile directory
            rows.append({**json.loads(out.stdout.strip().splitlines()[-1]), "run": run})
            print(json.dumps(rows[-1]), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    models = ROOT / "workflow" / "crpsmeta" / "models"
    code = hashlib.sha256(b"".join((models / f).read_bytes() for f in ("placebo_adjusted.py", "time_course.py")))
    return (
        f"### Shipped primary fits as a fit job makes them (at `{commit.stdout.strip()}`; "
        f"placebo_adjusted.py + time_course.py {code.hexdigest()[:8]})\n\n"
        "Config sampler (nutpie, 4 chains x 1,000 draws, tune 500, target_accept 0.99, `sampler.threads` cores), "
        "prior families of every prior set, the fit's own seed; each run a fresh process with PyTensor's compile "
        "directory warm. `data_nodes`: the model's `pm.Data` nodes; `stored_per_draw`: values nutpie computes and "
        "stores per draw; `_cpu_s`: CPU seconds of the process (all its threads), beside wall seconds; "
        "`draws_sha256`: a digest of the top-level parameters' draws (same digest, same draws).\n\n"
        + table(rows, COMPILE_COLUMNS)
    )


def bench_validation(replications: int) -> str:
    """``snakemake --cores 2 validate`` on a copy of the repository's config/ and data/, config
    ``validation.replications`` set to ``replications``, empty results/ and compile caches."""
    import yaml

    work, env = _workdir("bench-validation-")
    cfg_path = work / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["validation"]["replications"] = int(replications)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    row = _snakemake(work, f"validate at {replications} replications (cold)", "validate", env=env)
    passed = work / "results" / "validation" / "PASSED"
    row["verdict"] = passed.read_text(encoding="utf-8").strip() if passed.exists() else "no PASSED marker"
    shutil.rmtree(work, ignore_errors=True)
    return (
        f"### The validation target (`snakemake --cores 2 validate`, {replications} replications, on a copy of "
        "config/ and data/, empty results/ and compile caches)\n\n"
        + table([row], ["run", "wall_s", "jobs", "verdict", "peak_rss_mb_one_process"])
    )


def _route(args) -> dict:
    """Fit ``args.model`` (placebo_adjusted, or pooled_rate at the immediate timepoint) on the shipped data under
    each of ``args.reps`` (prior sets, comma-separated), in turn, in this one process, by one sampling route;
    returns each fit's seconds (build, compile and sample)."""
    t_start = time.perf_counter()
    route = args.backend
    if route != "nutpie":
        import jax

        jax.config.update("jax_compilation_cache_dir", os.environ["BENCH_XLA_CACHE"])
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    import pymc as pm

    from crpsmeta.fitting.sampling import SamplerSettings, sample_posterior
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.models.build import build_model
    from crpsmeta.plan import model_options, prior_families, sampler_settings
    from crpsmeta.registry import priors_block

    config = _config()
    studies, outcomes = _shipped_tables()
    name = args.model or "placebo_adjusted"
    unit = "joint" if name == "placebo_adjusted" else "immediate"
    options = model_options(config, name)
    used, _ = model_inputs(studies, outcomes, model=name, unit=unit, options=options)
    options = {**options, "prior_families": prior_families(config, name)}
    s = sampler_settings(config)
    fits = []
    for prior_set in args.reps.split(","):
        t0 = time.perf_counter()
        model = build_model(name, used, priors_block(config["prior_sets"][prior_set], name), options)
        if route == "nutpie":  # the workflow's own path: a model of a structure compiled earlier is reused
            idata = sample_posterior(model, SamplerSettings.from_dict(s, cores=1), 1)
        elif route == "nutpie_jax":
            import nutpie

            compiled = nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax")
            idata = nutpie.sample(
                compiled,
                draws=s["draws"],
                tune=s["tune"],
                chains=s["chains"],
                cores=1,
                seed=1,
                target_accept=s["target_accept"],
                progress_bar=False,
            )
        else:
            with model:
                idata = pm.sample(
                    draws=s["draws"],
                    tune=s["tune"],
                    chains=s["chains"],
                    nuts_sampler="numpyro",
                    target_accept=s["target_accept"],
                    random_seed=1,
                    progressbar=False,
                    compute_convergence_checks=False,
                    nuts_sampler_kwargs={"chain_method": "vectorized"},
                )
        fits.append(
            {
                "prior_set": prior_set,
                "fit_s": round(time.perf_counter() - t0, 1),
                "divergences": int(idata.sample_stats["diverging"].sum()),
            }
        )
    return {"route": route, "process_s": round(time.perf_counter() - t_start, 1), "fits": fits}


def bench_routes() -> str:
    """nutpie (numba, the workflow's route) beside PyMC's JAX routes with a persistent XLA compilation cache:
    placebo_adjusted under the primary prior set and then another (a prior edit), in one process and in a fresh
    process each, the JAX routes with a cold and then a warm cache."""
    try:
        import jax  # noqa: F401
        import numpyro  # noqa: F401
    except ImportError:
        return (
            "### Sampling routes\n\nJAX and numpyro are not installed (they are not dependencies of the workflow): "
            'see RESULTS.md ("Sampling routes") for how to install them beside the environment.'
        )
    cache = Path(tempfile.mkdtemp(prefix="bench-xla-"))
    env = {**os.environ, "BENCH_XLA_CACHE": str(cache)}
    rows = []

    def run(route, prior_sets, what, model="placebo_adjusted"):
        out = subprocess.run(
            [sys.executable, __file__, "_route", "--backend", route, "--reps", prior_sets, "--model", model],
            capture_output=True,
            text=True,
            env=env,
        )
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        got = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "model": model,
                "route": route,
                "run": what,
                "process_s": got["process_s"],
                "fits_s": " + ".join(str(f["fit_s"]) for f in got["fits"]),
                "divergences": sum(f["divergences"] for f in got["fits"]),
            }
        )

    run("nutpie", "default", "fresh process, one fit")
    run("nutpie", "default,skeptical", "one process, two prior sets (second reuses the compile)")
    for route in ("numpyro", "nutpie_jax"):
        run(route, "default", "fresh process, cold XLA cache")
        run(route, "default", "fresh process, warm XLA cache, same priors")
        run(route, "skeptical", "fresh process, warm XLA cache, other priors")
        run(route, "default,skeptical", "one process, two prior sets")
    run("nutpie", "default", "fresh process, one fit", "pooled_rate")
    run("numpyro", "default", "fresh process, cold XLA cache", "pooled_rate")
    run("numpyro", "default", "fresh process, warm XLA cache, same priors", "pooled_rate")
    shutil.rmtree(cache, ignore_errors=True)
    return (
        "### Sampling routes (shipped data and sampler settings, one core; pooled_rate at the immediate timepoint)\n\n"
        "`process_s`: the whole process (imports included); `fits_s`: each fit's build, compile and sampling.\n\n"
        + table(rows, ["model", "route", "run", "process_s", "fits_s", "divergences"])
    )


_PRIMED: dict[tuple, str] = {}  # (model, backend) -> the compile directory a cold run of it filled


def measure(model: str, unit: str, backend: str, cache: str, k: int = 0, target_accept: float = 0.0) -> dict:
    """Run one measurement in a fresh interpreter, with its own PyTensor base compile directory.

    'cold': a new, empty directory (a fresh machine). 'warm': the directory the
    last cold run of the same model and sampler filled (every later Snakemake
    job), or, without one, a directory primed by an untimed run first.
    """
    key = (model, backend)
    if cache == "cold" or key not in _PRIMED:
        _PRIMED[key] = tempfile.mkdtemp(prefix="bench-pytensor-")
        if cache == "warm":
            _run_one(model, unit, backend, "cold", k, target_accept, _PRIMED[key])  # untimed: fills the directory
    return _run_one(model, unit, backend, cache, k, target_accept, _PRIMED[key])


def _run_one(model, unit, backend, cache, k, target_accept, compiledir) -> dict:
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
    cmd = [
        sys.executable,
        __file__,
        "_one",
        "--model",
        model,
        "--unit",
        unit,
        "--backend",
        backend,
        "--cache",
        cache,
        "--k",
        str(k),
        "--target-accept",
        str(target_accept),
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=3600)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"measurement failed: {' '.join(cmd)}\n{exc.stderr[-3000:]}") from None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _remove_primed() -> None:
    for path in _PRIMED.values():
        shutil.rmtree(path, ignore_errors=True)


FIT_COLUMNS = [
    "model",
    "unit",
    "k",
    "backend",
    "cache",
    "target_accept",
    "mean_leapfrog_steps",
    "import_s",
    "compile_s",
    "sampling_s",
    "wall_s",
    "min_bulk_ess",
    "ess_per_s_sampling",
    "ess_per_s_wall",
    "divergences",
    "peak_rss_mb",
]


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def bench_fits() -> str:
    rows = []
    for model, unit in (("pooled_rate", "immediate"), ("placebo_adjusted", "joint")):
        for backend in ("pymc", "nutpie"):
            for cache in ("cold", "warm"):
                rows.append(measure(model, unit, backend, cache))
                print(json.dumps(rows[-1]), flush=True)
    return (
        "### Per fit: shipped data, config sampler settings (4 chains x 2000 draws, tune 1000, "
        "target_accept 0.99), 2 cores\n\n"
        + table(rows, FIT_COLUMNS)
        + "\n\n`cold`: an empty PyTensor base compile directory (a fresh machine); `warm`: what earlier "
        "processes cached there (every later Snakemake job): PyTensor's C code (PyMC) and its numba functions "
        "(nutpie; nutpie's own wrappers are compiled in every process). ESS is the smallest bulk ESS over the "
        "top-level parameters; `mean_leapfrog_steps` is gradient evaluations per draw."
    )


def bench_scaling() -> str:
    rows = []
    for k in (15, 150, 1500):
        for backend in ("pymc", "nutpie"):
            rows.append(measure("pooled_rate", "immediate", backend, "warm", k=k))
            print(json.dumps(rows[-1]), flush=True)
    # what bounds k = 1,500: the step size that target_accept 0.99 imposes (side by side, same run)
    rows.append(measure("pooled_rate", "immediate", "nutpie", "warm", k=1500, target_accept=0.9))
    print(json.dumps(rows[-1]), flush=True)
    return "### Scaling: pooled_rate on simulated studies (mu = -0.2, tau = 0.6, n 5-70 per study)\n\n" + table(
        rows, FIT_COLUMNS
    )


# ---- several fits of one structure: a process each, or one process --------------
def _fits(args) -> dict:
    """Fit replicates 1..n of a validation scenario here, one after another; report each fit's times."""
    t_start = time.perf_counter()
    import resource

    from crpsmeta.calibration.simulate import simulate_replicate
    from crpsmeta.fitting.sampling import compiled_cache_info, fit
    from crpsmeta.registry import priors_block

    config = _config()
    design = config["validation"]["scenarios"][args.scenario]
    priors = priors_block(config["prior_sets"][config["prior_set"]], design["model"])
    options = dict(config[design["model"]])
    sampler = {**config["validation"]["sampler"], "backend": "nutpie"}
    fits = []
    for rep in args.reps.split(","):
        used, _, _ = simulate_replicate(
            design["model"],
            design,
            priors,
            int(rep),
            reference_definition=config["placebo_adjusted"]["reference_definition"],
        )
        t0 = time.perf_counter()
        idata = fit(design["model"], used, priors, sampler, seed=int(rep), cores=1, options=options)
        fits.append(
            {
                "rep": rep,
                "seconds": round(time.perf_counter() - t0, 2),
                "compiled_model": idata.posterior.attrs["compiled_model"],
            }
        )
    return {
        "fits": fits,
        "wall_s": round(time.perf_counter() - t_start, 2),
        **compiled_cache_info(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _fits_process(scenario: str, reps: list[int]) -> dict:
    cmd = [sys.executable, __file__, "_fits", "--scenario", scenario, "--reps", ",".join(map(str, reps))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if out.returncode:
        raise SystemExit(f"measurement failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_sharing() -> str:
    """Four validation replicates (one model structure, other data): four processes against one process."""
    rows = []
    for scenario in ("pooled_like_evidence", "adjusted_like_evidence"):
        reps = [1, 2, 3, 4]
        separate = [_fits_process(scenario, [r]) for r in reps]
        shared = _fits_process(scenario, reps)
        apart = sum(m["wall_s"] for m in separate)
        rows.append(
            {
                "scenario": scenario,
                "fits": len(reps),
                "a_process_each_s": round(apart, 1),
                "one_process_s": shared["wall_s"],
                "speed_up": f"{apart / shared['wall_s']:.1f}x",
                "first_fit_s": shared["fits"][0]["seconds"],
                "later_fits_s": ", ".join(str(f["seconds"]) for f in shared["fits"][1:]),
                "compiled/reused": f"{shared['compiled']}/{shared['reused']}",
                "peak_rss_mb": shared["peak_rss_mb"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return (
        "### Fits of one model structure: a process each, or one process sharing the compiled model\n\n"
        "Validation replicates (same design, other simulated data), validation sampler with nutpie, 1 core. "
        "`a_process_each_s` sums four fresh processes (as four Snakemake jobs); `one_process_s` is one process "
        "fitting all four (as rule fit_validation does), which compiles once and swaps each replicate's data "
        "in.\n\n" + table(rows, list(rows[0]))
    )


def _snakemake(workdir: Path, what: str, *args: str, env: dict | None = None) -> dict:
    """One `snakemake --cores 2` run: wall time, jobs run, and the peak RSS of its largest process."""
    import re
    import resource

    t0, started = time.perf_counter(), time.time()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = round(time.perf_counter() - t0, 1)
    if run.returncode:
        raise SystemExit(f"snakemake failed in {workdir}:\n{run.stderr[-3000:]}")
    steps = re.findall(r"(\d+) of (\d+) steps", run.stderr)
    # fit jobs of this run (their logs written since it started): each fit's line says whether it sampled or
    # took a cached record, and each job's last line how many models nutpie compiled
    logs = [p for p in (workdir / "results" / "logs" / "fit").rglob("*.log") if p.stat().st_mtime >= started]
    texts = [p.read_text(encoding="utf-8") for p in logs]
    row = {
        "run": what,
        "wall_s": wall,
        "jobs": steps[-1][1] if steps else 0,
        "fit_jobs": len(logs),
        "fits_sampled": sum(len(re.findall(r"^== .*: sampled$", t, re.M)) for t in texts),
        "fits_reused": sum(len(re.findall(r"^== .*: reused from the fit cache$", t, re.M)) for t in texts),
        "compiles": sum(int(n) for t in texts for n in re.findall(r"'compiled': (\d+)", t)),
        "peak_rss_mb_one_process": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    print(json.dumps(row), flush=True)
    return row


def add_study(work: Path, study_id: str = "Bench2099", timepoint: str = "immediate") -> None:
    """Append a made-up 12/20 case series reporting at one timepoint (studies.csv and outcomes.csv)."""
    import csv

    for name, values in (
        (
            "studies.csv",
            dict(
                study_id=study_id,
                citation="Benchmark study (not real).",
                design="case_series",
                include="true",
                source="benchmark",
                verification="primary",
            ),
        ),
        (
            "outcomes.csv",
            dict(
                study_id=study_id,
                arm="ketamine",
                timepoint=timepoint,
                measure="responders",
                n="20",
                responders="12",
                responder_definition=">=30 % relief",
                definition_class="ge30pct",
                source="benchmark",
                verification="primary",
            ),
        ),
    ):
        path = work / "data" / name
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        with open(path, "a", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerow([values.get(column, "") for column in header])


def _workdir(prefix: str) -> tuple[Path, dict]:
    """A copy of config/ and data/ to run the workflow on, and an environment with its own empty compile caches."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copytree(ROOT / "data", work / "data")
    return work, {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={work / 'pytensor'}"}


def bench_workflow() -> str:
    import yaml

    work, env = _workdir("bench-workflow-")
    rows = [
        _snakemake(work, "cold (empty results/ and compile caches)", env=env),
        _snakemake(work, "warm no-op (nothing changed)", env=env),
    ]
    cfg_path = work / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["prior_sets"]["skeptical"]["placebo_adjusted"]["effect_mu"]["sd"] = 0.4
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows.append(
        _snakemake(work, "after a prior edit in a sensitivity set (skeptical effect_mu sd 0.5 -> 0.4)", env=env)
    )
    cfg["prior_sets"][cfg["prior_set"]]["pooled_rate"]["mu"]["sd"] = 1.4
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows.append(_snakemake(work, "after a prior edit in the primary set (pooled_rate mu sd 1.5 -> 1.4)", env=env))
    cfg["prior_sets"][cfg["prior_set"]]["pooled_rate"]["mu"]["sd"] = 1.5
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows.append(_snakemake(work, "after undoing that edit (mu sd back to 1.5)", env=env))
    effect = cfg["prior_sets"][cfg["prior_set"]]["placebo_adjusted"]["effect_mu"]
    effect["sd"] = round(effect["sd"] - 0.1, 3)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows.append(
        _snakemake(
            work, f"after a prior edit in the primary set (placebo_adjusted effect_mu sd -> {effect['sd']})", env=env
        )
    )
    half_life = cfg["prior_sets"][cfg["prior_set"]]["placebo_adjusted"]["half_life"]
    half_life["sdlog"] = round(half_life["sdlog"] + 0.05, 3)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows.append(
        _snakemake(
            work, f"after a prior edit read by time_course only (half_life sdlog -> {half_life['sdlog']})", env=env
        )
    )
    add_study(work)
    rows.append(_snakemake(work, "after adding one study (a 12/20 case series at the end of infusion)", env=env))
    add_study(work, study_id="Bench2098", timepoint="followup")
    rows.append(_snakemake(work, "after adding one study at follow-up only (a 12/20 case series)", env=env))
    shutil.rmtree(work, ignore_errors=True)
    return (
        "### The whole analysis (`snakemake --cores 2`, rule all, on a copy of config/ and data/)\n\n"
        "`jobs`: Snakemake jobs the run executed; `fit_jobs`: those of them that fit (one per model structure). "
        "`fits_sampled`/`fits_reused`: fits that sampled, and those that took their record from the fit cache "
        "(`fit_cache`). `compiles`: nutpie compiles in the run's fit jobs. `peak_rss_mb_one_process`: the "
        "largest resident memory of any one process so far (cumulative over the runs).\n\n"
        + table(
            rows,
            [
                "run",
                "wall_s",
                "jobs",
                "fit_jobs",
                "fits_sampled",
                "fits_reused",
                "compiles",
                "peak_rss_mb_one_process",
            ],
        )
    )


def bench_threads() -> str:
    """The three other prior sets' placebo_adjusted fits, at sampler.threads 1 and 2, in one run."""
    import yaml

    work, env = _workdir("bench-threads-")
    cfg_path = work / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    targets = [
        f"results/sensitivity/{name}/fits/placebo_adjusted/joint/idata.nc"
        for name in cfg["prior_sets"]
        if name != cfg["prior_set"]
    ]

    cfg["fit_cache"] = False  # every run samples the fits anew

    def threads(n: int) -> None:
        cfg["sampler"]["threads"] = n
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    threads(1)
    _snakemake(work, "warm-up: data steps and the numba cache (not in the table)", *targets, env=env)
    rows = []
    for n in (1, 2):
        threads(n)
        # targets before --forcerun, which takes every argument after it
        rows.append(
            _snakemake(
                work, f"sampler.threads: {n}", *targets, "--forcerun", "fit_placebo_adjusted_joint_sensitivity", env=env
            )
        )
    shutil.rmtree(work, ignore_errors=True)
    return (
        f"### Fit jobs at one thread or two (`snakemake --cores 2`, the {len(targets)} other prior sets' "
        "placebo_adjusted fits, warm caches)\n\n" + table(rows, ["run", "wall_s", "jobs"])
    )


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "?"
    )
    import nutpie
    import pymc
    import pytensor

    return (
        f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem) / 1024**2:.0f} GiB RAM, Python "
        f"{platform.python_version()}, PyMC {pymc.__version__}, PyTensor {pytensor.__version__}, nutpie "
        f"{nutpie.__version__}; run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "what",
        choices=[
            "fits",
            "scaling",
            "sharing",
            "threads",
            "workflow",
            "routes",
            "compile",
            "validation",
            "all",
            "_one",
            "_fits",
            "_route",
            "_compile",
        ],
    )
    parser.add_argument("--write", action="store_true", help="write the printed tables to benchmarks/RESULTS.md")
    parser.add_argument("--model"), parser.add_argument("--unit"), parser.add_argument("--backend")
    parser.add_argument("--cache"), parser.add_argument("--k", type=int, default=0)
    parser.add_argument("--scenario"), parser.add_argument("--reps")
    parser.add_argument("--target-accept", type=float, default=0.0, help="override config's target_accept")
    parser.add_argument("--repeats", type=int, default=2, help="compile: fresh processes per model")
    parser.add_argument(
        "--replications", type=int, default=4, help="validation: config validation.replications (100: ~22 min)"
    )
    args = parser.parse_args()
    if args.what in ("_one", "_fits", "_route", "_compile"):
        print(json.dumps({"_one": _one, "_fits": _fits, "_route": _route, "_compile": _compile_one}[args.what](args)))
        return
    import atexit

    atexit.register(_remove_primed)
    parts = {"machine": machine()}
    steps = {
        "fits": bench_fits,
        "scaling": bench_scaling,
        "sharing": bench_sharing,
        "threads": bench_threads,
        "workflow": bench_workflow,
        "routes": bench_routes,
        "compile": lambda: bench_compile(args.repeats),
        "validation": lambda: bench_validation(args.replications),
    }
    for name in steps if args.what == "all" else [args.what]:
        parts[name] = steps[name]()
    print("\n\n".join(parts.values()))
    if args.write:
        write_results(parts)


def write_results(parts: dict[str, str]) -> None:
    """Replace the printed sections of RESULTS.md (between <!-- bench:NAME --> markers), keeping the prose."""
    import re

    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text()
    stamp = parts.pop("machine")
    for name, body in parts.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(\n<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"RESULTS.md has no <!-- bench:{name} --> section to replace")
        text = pattern.sub(lambda m, body=body: f"{m.group(1)}{stamp}\n\n{body}{m.group(2)}", text)
    path.write_text(text)


if __name__ == "__main__":
    main()
