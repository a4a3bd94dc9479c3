"""bench/run: how fast the deployed service is, against the best this machine allows.

Deploys the Pulumi program on the local Docker engine with the live harness
(tests/live: a LiveStack of its own, a copy of Pulumi.ci.yaml, throttling
off), then, all in one run:

1. loads the small data set (10k books, the sample-data command's COPY),
   counts the SQL statements of list (page_size 10 and 100), detail and
   search requests inside an API container, and drives wrk at fixed
   connections and duration against /healthz (the framework's ceiling here:
   no database, no view), the book list, a book detail and a search, with
   the CPU time each part (API containers, database, proxy) spends per
   request, from the engine's cgroup accounting: what limits the throughput;
2. grows the data to the large set (1M) and does the same again;
3. redeploys with two API replicas and measures again;
4. builds the image three ways (cold, code-only change, naive single stage).

Traffic goes to the stack output `url` (the reverse proxy when the program
has one; without one, wrk's threads are spread over the replicas' published
ports). Everything the run created (containers, network, volume, images) is
removed at the end, also on failure or Ctrl-C.

The figures are for comparing against each other within a run (ratios to
/healthz, 1M against 10k, 2 replicas against 1): absolute numbers depend on
the machine and on whatever else runs on it (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import yaml

from bench import images, probes
from bench.wrk import LoadShape, require_wrk, run_wrk, warm_up
from tests.harness.stack import BASE_IMAGES, LiveStack
from tests.harness.state import RUN_LABEL

TARGETS = {  # name: (description, threshold)
    "list_vs_healthz": ("list >= 50% of /healthz", 0.50),
    "detail_vs_healthz": ("detail >= 70% of /healthz", 0.70),
    "list_1m_vs_10k": ("list at large rows within 20% of small", 0.80),
}


# --- the deployment ---------------------------------------------------------


def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure: no usable engine
        raise SystemExit(f"no Docker engine answers ({type(error).__name__}: {error})") from None
    missing = [ref for ref in BASE_IMAGES if not client.images.list(name=ref)]
    if missing:
        raise SystemExit(f"base image(s) {missing} missing: run `bash scripts/build-debian-images.sh all` as root")
    return client


def entry_point(outputs: dict) -> tuple[str, list[int], str]:
    """(url, ports to spread wrk's threads over, how traffic gets in).

    The stack output `url` is the service's entry point. A program without a
    proxy exports each replica's URL in `urls` and `url` is the first one:
    then one wrk run is spread over all of them."""
    url = outputs["url"]
    replica_urls = outputs.get("urls") or []
    if url in replica_urls and len(replica_urls) > 1:
        return url, [urlsplit(u).port for u in replica_urls], f"{len(replica_urls)} replica ports (no proxy)"
    return url, [], "proxy" if outputs.get("proxy_container_name") else "replica port"


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url + "readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}readyz did not answer 200 within {seconds:.0f} s")
        time.sleep(1)


def get_json(url: str) -> Any:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return response.json()


# --- one measurement round ---------------------------------------------------


def endpoint_paths(url: str, search: str) -> dict[str, str]:
    """The measured paths; the detail is a book from the middle of the table."""
    newest = get_json(url + "api/books/?page_size=1&ordering=-id")["results"][0]["id"]
    oldest = get_json(url + "api/books/?page_size=1&ordering=id")["results"][0]["id"]
    middle = (oldest + newest) // 2
    if requests.get(f"{url}api/books/{middle}/", timeout=30).status_code != 200:
        middle = oldest
    return {
        "healthz": "healthz",
        "list": "api/books/",
        "detail": f"api/books/{middle}/",
        "search": f"api/books/?search={quote(search)}",
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def throughput_round(
    url: str, spread: list[int], paths: dict[str, str], shape: LoadShape, label: str, meter: probes.CpuMeter
) -> dict:
    results = {}
    for name, path in paths.items():
        before = load_average()
        warm_up(url + path, shape, spread)
        cpu_before = meter.snapshot()
        result = run_wrk(url + path, shape, shape.seconds, spread)
        cpu = meter.per_request(cpu_before, meter.snapshot(), result.requests)
        results[name] = {**result.as_dict(), "path": "/" + path, "loadavg_before": before, "cpu_ms_per_request": cpu}
        flag = f"  ({result.failed_requests} failed!)" if result.failed_requests else ""
        log(
            f"  {label:<22} {('/' + path)[:48]:<48} {result.rps:>9.1f} req/s  p50 {result.p50_ms:.1f} ms  "
            f"p99 {result.p99_ms:.1f} ms  CPU ms/request {cpu}{flag}"
        )
    ceiling = results["healthz"]["rps"] or 1
    for figures in results.values():
        figures["vs_healthz"] = round(figures["rps"] / ceiling, 3)
    return results


def query_round(api_container, url: str, search: str) -> dict:
    paths = endpoint_paths(url, search)
    probe_paths = {
        "list page_size=10": "/api/books/?page_size=10",
        "list page_size=100": "/api/books/?page_size=100",
        "detail": "/" + paths["detail"],
        "search": "/" + paths["search"],
    }
    figures = probes.queries_per_request(api_container, probe_paths)
    # The same list with the default throttling (counters in a database cache
    # table), which the throughput runs switch off.
    throttled = probes.queries_per_request(
        api_container,
        {"list page_size=10, default throttling": "/api/books/?page_size=10"},
        throttle_rates={"anon": "600/minute", "user": "3000/minute"},
    )
    return {**figures, **throttled}


# --- output -------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def human_rows(n: int) -> str:
    return (
        f"{n // 1_000_000}M"
        if n >= 1_000_000 and n % 1_000_000 == 0
        else (f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))
    )


def render(report: dict) -> str:
    lines = []
    meta = report["setup"]
    lines.append(
        f"Library service benchmark  ({meta['started']}, {meta['cpus']} CPUs, "
        f"load average at start {meta['loadavg_start']})"
    )
    lines.append(
        f"wrk -t{meta['threads']} -c{meta['connections']} -d{meta['seconds']}s (after a "
        f"{meta['warmup_seconds']} s warm-up), through {meta['via']}; gunicorn "
        f"{meta['gunicorn']}, apiCpus {meta['api_cpus']} per replica; throttling off"
    )
    lines.append("")
    header = (
        f"{'endpoint':<10} {'rows':>5} {'replicas':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'vs /healthz':>11}   CPU ms per request: {'api':>5} {'db':>5} {'proxy':>5}  api cores"
    )
    lines += [header, "-" * len(header)]
    for run in report["throughput"]:
        for name, f in run["results"].items():
            errors = sum(f["errors"].values())
            cpu = f["cpu_ms_per_request"]
            parts = " ".join(f"{cpu[p]:>5.2f}" if p in cpu else f"{'-':>5}" for p in ("api", "db", "proxy"))
            api_cores = cpu.get("api", 0) * f["rps"] / 1000
            lines.append(
                f"{name:<10} {human_rows(run['rows']):>5} {run['replicas']:>8} {f['rps']:>9.1f} "
                f"{f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {errors:>6} {f['vs_healthz']:>10.0%}   "
                f"{'':>20} {parts}  {api_cores:>9.2f}"
            )
        lines.append("")
    lines.append(
        f"(api cores = API CPU ms per request x req/s: at apiCpus x replicas "
        f"= {float(meta['api_cpus'] or 0):g} x replicas the API containers are the limit)"
    )
    lines.append("")
    lines.append("Queries per request (SQL statements Django sends; db ms = EXPLAIN ANALYZE, each statement)")
    header = f"{'request':<40} {'rows':>5} {'queries':>7}  db ms per statement"
    lines += [header, "-" * len(header)]
    for rows, probe in report["queries"].items():
        for name, q in probe.items():
            times = ", ".join("-" if s["db_ms"] is None else f"{s['db_ms']:.2f}" for s in q["statements"])
            lines.append(f"{name:<40} {human_rows(int(rows)):>5} {q['queries']:>7}  {times}")
    lines.append("")
    lines.append("Ratios and targets")
    for name, r in report["ratios"].items():
        target = TARGETS.get(name)
        verdict = "" if not target else f"   target {target[0]}: {'met' if r >= target[1] else 'MISSED'}"
        lines.append(f"  {name:<28} {r:>7.2f}{verdict}")
    verdict = "met" if report["queries_constant"] else "MISSED"
    lines.append(
        f"  {'queries per request constant':<28} {str(report['queries_constant']):>7}   "
        f"target: do not grow with page or table size: {verdict}"
    )
    lines.append("")
    if report.get("load_seconds"):
        loads = [
            f"{human_rows(int(k))} rows: {v['load_s']} s + {v['vacuum_s']} s" for k, v in report["load_seconds"].items()
        ]
        lines.append("Data loading (load_sample_books, COPY; then VACUUM ANALYZE): " + ", ".join(loads))
        lines.append("")
    img = report.get("image")
    if img:
        lines.append(f"Image (base {img['base_image']}: {img['base_mb']} MB)")
        lines.append(
            f"  service image {img['service_mb']} MB   naive single-stage {img['naive_mb']} MB "
            f"({img['naive_mb'] / img['service_mb']:.2f}x)"
        )
        lines.append(
            f"  cold build (--no-cache) {img['cold_build_s']} s   code-only rebuild {img['code_change_rebuild_s']} s"
        )
        lines.append(
            f"  naive: cold build {img['naive_cold_build_s']} s   code-only rebuild "
            f"{img['naive_code_change_rebuild_s']} s (its COPY . . comes before pip install)"
        )
    return "\n".join(lines)


def compute_ratios(report: dict) -> None:
    runs = {(r["rows"], r["replicas"]): r["results"] for r in report["throughput"]}
    small, large = report["setup"]["rows_small"], report["setup"]["rows_large"]
    ratios = {}
    for rows in (small, large):
        if (rows, 1) in runs:
            ratios[f"list_vs_healthz ({human_rows(rows)})"] = runs[(rows, 1)]["list"]["vs_healthz"]
            ratios[f"detail_vs_healthz ({human_rows(rows)})"] = runs[(rows, 1)]["detail"]["vs_healthz"]
            ratios[f"search_vs_healthz ({human_rows(rows)})"] = runs[(rows, 1)]["search"]["vs_healthz"]
    if (small, 1) in runs and (large, 1) in runs:
        ratios["list_1m_vs_10k"] = round(runs[(large, 1)]["list"]["rps"] / runs[(small, 1)]["list"]["rps"], 3)
        ratios["search_1m_vs_10k"] = round(runs[(large, 1)]["search"]["rps"] / runs[(small, 1)]["search"]["rps"], 3)
    if (large, 1) in runs and (large, 2) in runs:
        for name in ("healthz", "list", "detail"):
            ratios[f"{name}_2_replicas_vs_1"] = round(runs[(large, 2)][name]["rps"] / runs[(large, 1)][name]["rps"], 3)
    # The targets apply to every row count measured: keep the worst.
    for key in ("list_vs_healthz", "detail_vs_healthz"):
        values = [v for k, v in ratios.items() if k.startswith(key + " (")]
        if values:
            ratios[key] = min(values)
    report["ratios"] = ratios
    counts = {}
    for probe in report["queries"].values():
        for name, q in probe.items():
            if "throttling" not in name:
                counts.setdefault(name.split(" page_size")[0], set()).add(q["queries"])
    report["queries_constant"] = bool(counts) and all(len(v) == 1 for v in counts.values())


# --- the run --------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    ap.add_argument("--duration", type=int, default=15, help="seconds per measured run (default 15)")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each run (default 3)")
    ap.add_argument("--rows-small", type=int, default=10_000)
    ap.add_argument("--rows-large", type=int, default=1_000_000)
    ap.add_argument("--search", default="Grace Hopper", help="the search term (default: an author's name)")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="stack config override, e.g. library:gunicornThreads=8 (repeatable)",
    )
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["large", "replicas", "image"],
        help="leave out a part (repeatable)",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    return ap.parse_args(argv)


def interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_wrk()
    client = docker_client()
    # Ctrl-C and SIGTERM both unwind through the finally below (cleanup).
    signal.signal(signal.SIGTERM, interrupt)

    overrides: dict[str, Any] = {"library:throttleAnon": "off", "library:throttleUser": "off"}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--config takes KEY=VALUE, got {item!r}")
        overrides[key if ":" in key else f"library:{key}"] = value
    shape = LoadShape(
        threads=args.threads, connections=args.connections, seconds=args.duration, warmup_seconds=args.warmup
    )

    workdir = Path(tempfile.mkdtemp(prefix="library-bench-"))
    stack = LiveStack(client, workdir, "bench", replicas=2)
    created_tags: list[str] = []
    report: dict[str, Any] = {"throughput": [], "queries": {}, "load_seconds": {}}
    log(f"bench: run {stack.run_id} (objects labelled {RUN_LABEL}={stack.run_id}); deploying with 1 API replica")
    try:
        outputs = stack.deploy(**{**overrides, "library:apiReplicas": overrides.get("library:apiReplicas", 1)})
        url, _, via = entry_point(outputs)
        wait_ready(url)
        config_file = stack.repo / f"Pulumi.{stack.stack}.yaml"
        ci_config = {k: str(v) for k, v in yaml.safe_load(config_file.read_text())["config"].items()}
        effective = {**ci_config, **{k: str(v) for k, v in overrides.items()}}
        report["setup"] = {
            "run_id": stack.run_id,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "cpus": os.cpu_count(),
            "loadavg_start": load_average(),
            "threads": shape.threads,
            "connections": shape.connections,
            "seconds": shape.seconds,
            "warmup_seconds": shape.warmup_seconds,
            "via": via,
            "url": url,
            "gunicorn": f"{effective.get('library:gunicornWorkers')} workers x "
            f"{effective.get('library:gunicornThreads')} threads",
            "api_cpus": effective.get("library:apiCpus"),
            "config_overrides": overrides,
            "rows_small": args.rows_small,
            "rows_large": args.rows_large,
            "search": args.search,
        }
        api = client.containers.get(outputs["api_container_names"][0])
        db = client.containers.get(outputs["db_container_name"])

        def grow_to(rows: int, loaded: int) -> None:
            log(f"bench: loading {rows - loaded} books (to {rows})")
            load_s = probes.load_books(api, rows - loaded, seed=rows)
            vacuum_s = probes.vacuum_analyze(db)
            report["load_seconds"][str(rows)] = {"load_s": load_s, "vacuum_s": vacuum_s}

        def one_round(rows: int, replicas: int, deployed: dict) -> None:
            target_url, target_spread, _ = entry_point(deployed)
            paths = endpoint_paths(target_url, args.search)
            if replicas == 1:
                report["queries"][str(rows)] = query_round(api, target_url, args.search)
            meter = probes.CpuMeter(
                client,
                {
                    "api": list(deployed["api_container_names"]),
                    "db": [deployed["db_container_name"]],
                    "proxy": [deployed["proxy_container_name"]] if deployed.get("proxy_container_name") else [],
                },
            )
            results = throughput_round(
                target_url, target_spread, paths, shape, f"{human_rows(rows)} rows, {replicas} repl.", meter
            )
            report["throughput"].append({"rows": rows, "replicas": replicas, "results": results})

        grow_to(args.rows_small, 0)
        one_round(args.rows_small, 1, outputs)
        if "large" not in args.skip:
            grow_to(args.rows_large, args.rows_small)
            one_round(args.rows_large, 1, outputs)
        if "replicas" not in args.skip:
            log("bench: redeploying with 2 API replicas")
            outputs = stack.deploy(**{**overrides, "library:apiReplicas": 2})
            wait_ready(entry_point(outputs)[0])
            rows = args.rows_small if "large" in args.skip else args.rows_large
            one_round(rows, 2, outputs)
        report["setup"]["loadavg_end"] = load_average()
        if "image" not in args.skip:
            log("bench: image builds (cold, code-only change, naive)")
            report["image"] = images.image_figures(
                client,
                effective.get("library:pythonImage", BASE_IMAGES[0]),
                f"library-bench-{stack.run_id}",
                created_tags,
            )
        compute_ratios(report)
    except KeyboardInterrupt:
        log("bench: interrupted; cleaning up")
        return 130
    finally:
        log("bench: removing everything this run created")
        images.remove_images(client, created_tags)
        stack.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)

    text = render(report)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, sort_keys=True))
        log(f"bench: figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
