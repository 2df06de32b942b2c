#!/usr/bin/env python3
"""Summarises a scripts/bench.sh run: medians per case and mesh/baseline ratios (and NATS's).

usage: report.py RAW.jsonl SUMMARY.json [key=value ...]
Each round ran the baseline and the mesh back to back, so the ratio of each round is taken
first and the median of those ratios reported (drift between rounds cancels out).
"""
import json
import statistics
import sys

raw_path, summary_path, *extra = sys.argv[1:]
rows = [json.loads(line) for line in open(raw_path) if line.strip()]
meta = dict(item.split("=", 1) for item in extra)

CASES = {
    "seq64": ("sequential round trip, 64 B", "p50_us", "us", "lower"),
    "tput64": ("128 in flight, 64 B", "calls_per_s", "calls/s", "higher"),
    "tput1k": ("128 in flight, 1 KiB", "calls_per_s", "calls/s", "higher"),
    "mdp64": ("MDP/0.2 RFC 18 client, seq, 64 B", "p50_us", "us", "lower"),
    "mdp64-rfc7": ("MDP/0.1 RFC 7 REQ client, seq 64 B", "p50_us", "us", "lower"),
    "mdp64-majortomo": ("majortomo client, seq, 64 B", "p50_us", "us", "lower"),
}
# Issue 16's targets (the brokered sequential one is to the zmq_proxy floor: FLOOR_TARGETS).
TARGETS = {
    ("brokerless", "seq64"): ("<=", 1.15),
    ("brokerless", "tput64"): (">=", 0.4),
    ("brokerless", "tput1k"): (">=", 0.6),
    ("brokered", "tput64"): (">=", 0.2),
}
# Majordomo clients: through the broker within 1.2x of the same client through the
# logic-free zmq_proxy floor, same round (issue 14; the 1.5x of the direct round trip was
# below what any broker in a process of its own can do here).
FLOOR_TARGETS = {"seq64": 1.15, "mdp64": 1.2, "mdp64-rfc7": 1.2, "mdp64-majortomo": 1.2}
# The brokered mesh over NATS in the same round (calls/s: at least).
NATS_TARGETS = {"tput64": 2.0}
# CPU per call, us (user + system, every thread, libzmq's included), 128 in flight, 64 B.
CPU_TARGETS = {"client_cpu_us": 2.5, "server_cpu_us": 2.5, "broker_cpu_us": 4.0}


def rounds_of(topology, case):
    return sorted({r["round"] for r in rows if r.get("topology") == topology and r.get("case") == case})


def value(topology, case, round_, field):
    for r in rows:
        if r.get("topology") == topology and r.get("case") == case and r.get("round") == round_:
            return r.get(field)
    return None


def paired_rounds(case, field, *topologies):
    """Per round in which every one of `topologies` has a nonzero `field` for `case`: their values."""
    for round_ in rounds_of(topologies[0], case):
        values = [value(t, case, round_, field) for t in topologies]
        if all(values):
            yield values


def fmt(number, unit):
    if unit == "us":
        return f"{number:,.1f} us"
    return f"{number:,.0f}/s"


summary = {"meta": meta, "cases": [], "memory": None}
lines = [f"ZMesh (and NATS) beside raw libzmq: same machine, same run, {meta.get('rounds', '?')} round(s) interleaved"
         + (", pinned (servers CPU 0, clients CPU 1)" if meta.get("pin") == "1" else ""),
         "",
         f"{'topology':<11} {'case':<35} {'baseline':>13} {'measured':>13} {'ratio':>7} {'target':>8}  met",
         "-" * 97]
# "nats": the same cases with NATS (nats-server, C client and queue-group responder), brokered
# too; its rows are to the same round's baseline, like the mesh's.
for topology in ("brokerless", "brokered", "nats"):
    for case, (label, field, unit, better) in CASES.items():
        ratios, meshes, bases, extras = [], [], [], []
        for round_ in rounds_of(topology, case):
            mesh = value(topology, case, round_, field)
            base = value("baseline", case, round_, field)
            if mesh is None or base is None or base == 0:
                continue
            meshes.append(mesh)
            bases.append(base)
            ratios.append(mesh / base)
            extras.append({k: value(topology, case, round_, k) for k in
                           ("p99_us", "p999_us", "errors", "rss_start_kib", "rss_end_kib",
                            "service_rss_start_kib", "service_rss_end_kib", "broker_rss_kib")})
        if not ratios:
            continue
        ratio = statistics.median(ratios)
        target = TARGETS.get((topology, case))
        met = None
        if target:
            met = ratio <= target[1] if target[0] == "<=" else ratio >= target[1]
        summary["cases"].append({
            "topology": topology, "case": case, "label": label, "metric": field,
            "baseline_median": statistics.median(bases), "mesh_median": statistics.median(meshes),
            "ratio_median": ratio, "ratios": ratios, "target": target and f"{target[0]} {target[1]}x",
            "met": met, "rounds": extras,
        })
        lines.append(f"{'NATS' if topology == 'nats' else topology:<11} {label:<35} {fmt(statistics.median(bases), unit):>13} "
                     f"{fmt(statistics.median(meshes), unit):>13} {ratio:>6.2f}x "
                     f"{(target[0] + ' ' + str(target[1]) + 'x') if target else '':>8}  "
                     f"{'' if met is None else ('yes' if met else 'no')}")

# The broker floor: each brokered case's client through a logic-free C zmq_proxy to the raw
# echo, in the same round. What any broker in a process of its own costs on this machine.
floor_lines = []
summary["broker_floor"] = []
for case, (label, field, unit, better) in CASES.items():
    floor_ratios, mesh_over_floor, floors, meshes = [], [], [], []
    for floor, base, mesh in paired_rounds(case, field, "floor", "baseline", "brokered"):
        floors.append(floor)
        meshes.append(mesh)
        floor_ratios.append(floor / base)
        mesh_over_floor.append(mesh / floor)
    if not floors:
        continue
    ratio = statistics.median(mesh_over_floor)
    target = FLOOR_TARGETS.get(case)
    met = None if target is None else ratio <= target
    summary["broker_floor"].append({"case": case, "label": label, "floor_median": statistics.median(floors),
                                    "mesh_median": statistics.median(meshes),
                                    "floor_over_baseline": statistics.median(floor_ratios),
                                    "mesh_over_floor": ratio, "mesh_over_floor_by_round": mesh_over_floor,
                                    "floors": floors, "meshes": meshes,
                                    "target": target and f"<= {target}x", "met": met})
    floor_lines.append(f"brokered    {label:<35} {fmt(statistics.median(floors), unit):>13} "
                       f"{statistics.median(floor_ratios):>9.2f}x {fmt(statistics.median(meshes), unit):>13} "
                       f"{ratio:>12.2f}x {('<= ' + str(target) + 'x') if target else '':>8}  "
                       f"{'' if met is None else ('yes' if met else 'no')}")
if floor_lines:
    lines += ["",
              "Broker floor: the same client through a logic-free C zmq_proxy to the raw echo, same rounds",
              f"{'topology':<11} {'case':<35} {'proxy':>13} {'/ baseline':>10} {'mesh':>13} {'mesh / proxy':>13} "
              f"{'target':>8}  met",
              "-" * 117] + floor_lines

# The transport floor: broker-less throughput cases on the Swift loop floor (the mesh's loop
# threads, socket actors and send coalescing, no mesh logic), same rounds. Above the raw echo
# is the loop layer's cost; between the floor and the mesh, the mesh logic's.
transport_lines = []
summary["loop_floor"] = []
for mode in ("tasks", "callbacks"):
    for case, (label, field, unit, better) in CASES.items():
        floor_ratios, mesh_over_floor, floors = [], [], []
        for floor, base, mesh in paired_rounds(case, field, "loopfloor-" + mode, "baseline", "brokerless"):
            floors.append(floor)
            floor_ratios.append(floor / base)
            mesh_over_floor.append(mesh / floor)
        if not floors:
            continue
        summary["loop_floor"].append({"mode": mode, "case": case, "floor_median": statistics.median(floors),
                                      "floor_over_baseline": statistics.median(floor_ratios),
                                      "mesh_over_floor": statistics.median(mesh_over_floor)})
        transport_lines.append(f"{'floor, ' + mode:<18} {label:<28} {fmt(statistics.median(floors), unit):>13} "
                               f"{statistics.median(floor_ratios):>9.2f}x {statistics.median(mesh_over_floor):>13.2f}x")
if transport_lines:
    lines += ["",
              "Swift loop floor (Benchmarks/LoopFloor: loop, socket actors, coalescing; no mesh logic), broker-less, same rounds",
              f"{'row':<18} {'case':<28} {'floor':>13} {'/ baseline':>10} {'mesh / floor':>14}",
              "-" * 88] + transport_lines

# NATS beside the brokered mesh: both brokered, both against the same round's baseline. The
# last column is the mesh over NATS per round (latency: below 1 is faster; calls/s: above 1).
nats_lines = []
summary["nats"] = []
for case, (label, field, unit, better) in CASES.items():
    nats_ratios, mesh_ratios, mesh_over_nats, nats_values = [], [], [], []
    for nats, base, mesh in paired_rounds(case, field, "nats", "baseline", "brokered"):
        nats_values.append(nats)
        nats_ratios.append(nats / base)
        mesh_ratios.append(mesh / base)
        mesh_over_nats.append(mesh / nats)
    if not nats_values:
        continue
    summary["nats"].append({"case": case, "label": label, "nats_median": statistics.median(nats_values),
                            "nats_over_baseline": statistics.median(nats_ratios),
                            "brokered_over_baseline": statistics.median(mesh_ratios),
                            "brokered_over_nats": statistics.median(mesh_over_nats),
                            "brokered_over_nats_by_round": mesh_over_nats})
    target = NATS_TARGETS.get(case)
    met = None if target is None else statistics.median(mesh_over_nats) >= target
    summary["nats"][-1].update(target=target and f">= {target}x", met=met)
    nats_lines.append(f"brokered    {label:<35} {fmt(statistics.median(nats_values), unit):>13} "
                      f"{statistics.median(nats_ratios):>9.2f}x {statistics.median(mesh_ratios):>10.2f}x "
                      f"{statistics.median(mesh_over_nats):>12.2f}x {('>= ' + str(target) + 'x') if target else '':>8}  "
                      f"{'' if met is None else ('yes' if met else 'no')}")
if nats_lines:
    lines += ["",
              "NATS beside the brokered mesh: nats-server 2.9, C client, queue-group responder replying at once; same rounds",
              f"{'topology':<11} {'case':<35} {'NATS':>13} {'/ baseline':>10} {'mesh / base':>11} {'mesh / NATS':>12} "
              f"{'target':>8}  met",
              "-" * 111] + nats_lines

# CPU per call (us, user + system, every thread): the client's, the server's and the broker's
# over each client run, medians of the rounds. With both cores busy, calls/s is CPU per call.
CPU_ROWS = (("baseline", "raw libzmq"), ("floor", "raw via zmq_proxy"), ("nats", "NATS"),
            ("loopfloor-callbacks", "Swift loop floor, callbacks"), ("loopfloor-tasks", "Swift loop floor, tasks"),
            ("brokerless", "ZMesh broker-less"), ("brokerless-compared", "broker-less, compared build"),
            ("brokered", "ZMesh brokered"), ("brokered-compared", "brokered, compared build"))
cpu_lines = []
summary["cpu"] = []
for case in ("tput64", "tput1k", "seq64"):
    for topology, name in CPU_ROWS:
        medians = {}
        for field in ("client_cpu_us", "server_cpu_us", "broker_cpu_us"):
            values = [v for v in (value(topology, case, r, field) for r in rounds_of(topology, case)) if v is not None]
            medians[field] = statistics.median(values) if values else None
        if medians["client_cpu_us"] is None and medians["server_cpu_us"] is None:
            continue
        checked = topology in ("brokerless", "brokered") and case == "tput64"
        misses = [f for f, limit in CPU_TARGETS.items() if checked and medians[f] is not None and medians[f] > limit]
        met = (not misses) if checked else None
        summary["cpu"].append({"topology": topology, "case": case, **medians, "met": met})
        cell = lambda v: f"{v:>9.2f}" if v is not None else f"{'':>9}"
        cpu_lines.append(f"{name:<28} {CASES[case][0]:<28} {cell(medians['client_cpu_us'])} {cell(medians['server_cpu_us'])} "
                         f"{cell(medians['broker_cpu_us'])}  {'' if met is None else ('yes' if met else 'no: ' + ', '.join(m.split('_')[0] for m in misses))}")
if cpu_lines:
    lines += ["",
              "CPU per call, us (user + system, every thread, libzmq's included), medians; targets at 128 in flight, 64 B: "
              "client and service <= 2.5, broker <= 4",
              f"{'row':<28} {'case':<28} {'client':>9} {'server':>9} {'broker':>9}  met",
              "-" * 96] + cpu_lines

# --compare: every mesh case also with another build, in the same rounds. Each build's ratio
# is to the baseline of its round; the last column is this build's over the compared one's.
compare_lines = []
summary["compared"] = []
for topology in ("brokerless", "brokered"):
    for case, (label, field, unit, better) in CASES.items():
        current, compared, relative = [], [], []
        for round_ in rounds_of(topology + "-compared", case):
            base = value("baseline", case, round_, field)
            new, old = value(topology, case, round_, field), value(topology + "-compared", case, round_, field)
            if base and new and old:
                current.append(new / base)
                compared.append(old / base)
                relative.append(new / old)
        if not relative:
            continue
        summary["compared"].append({"topology": topology, "case": case, "current_ratio_median": statistics.median(current),
                                    "compared_ratio_median": statistics.median(compared),
                                    "current_over_compared_median": statistics.median(relative),
                                    "current_over_compared": relative})
        compare_lines.append(f"{topology:<11} {label:<35} {statistics.median(compared):>9.3f}x "
                             f"{statistics.median(current):>9.3f}x {statistics.median(relative):>13.3f}")
if compare_lines:
    lines += ["",
              f"This build beside {meta.get('compared', 'the compared build')}: ratios to the same round's baseline, "
              "medians (latency: lower is better; calls/s: higher)",
              f"{'topology':<11} {'case':<35} {'compared':>10} {'this':>10} {'this/compared':>13}",
              "-" * 80] + compare_lines

# --observed: every mesh case also with metrics and tracing on, same build, same rounds. The
# cost per call is the difference: in latency for the sequential cases, in 1/throughput
# (CPU per call, with both cores busy) for the throughput ones.
observed_lines = []
summary["observed"] = []
for topology in ("brokerless", "brokered"):
    for case, (label, field, unit, better) in CASES.items():
        plain, observed, relative, costs = [], [], [], []
        for round_ in rounds_of(topology + "-observed", case):
            base = value("baseline", case, round_, field)
            new, old = value(topology + "-observed", case, round_, field), value(topology, case, round_, field)
            if base and new and old:
                plain.append(old / base)
                observed.append(new / base)
                relative.append(new / old)
                costs.append(new - old if unit == "us" else (1e6 / new - 1e6 / old))
        if not relative:
            continue
        summary["observed"].append({"topology": topology, "case": case, "plain_ratio_median": statistics.median(plain),
                                    "observed_ratio_median": statistics.median(observed),
                                    "observed_over_plain_median": statistics.median(relative),
                                    "cost_us_per_call_median": statistics.median(costs)})
        observed_lines.append(f"{topology:<11} {label:<35} {statistics.median(plain):>9.3f}x "
                              f"{statistics.median(observed):>9.3f}x {statistics.median(relative):>13.3f} "
                              f"{statistics.median(costs):>+10.2f} us")
if observed_lines:
    lines += ["",
              "Observed (nodes serving metrics and timing handlers, the client timing calls, every call, hop and handler "
              "traced) beside plain: ratios to the same round's baseline, medians",
              f"{'topology':<11} {'case':<35} {'plain':>10} {'observed':>10} {'obs/plain':>13} {'cost/call':>13}",
              "-" * 94] + observed_lines

memory = [r for r in rows if r.get("case") == "memory"]
if memory:
    m = memory[-1]
    growth = (m["service_rss_after_1m_kib"] - m["service_rss_after_100k_kib"]) / max(1, m["service_rss_after_100k_kib"])
    m["service_growth"] = growth
    m["service_met"] = growth <= 0.10
    summary["memory"] = m
    lines += ["",
              f"memory: service RSS {m['service_rss_after_100k_kib']:,} KiB after 100,000 calls, "
              f"{m['service_rss_after_1m_kib']:,} KiB after 1,000,000 ({growth * 100:+.1f}%; target within 10%: "
              f"{'yes' if m['service_met'] else 'no'})",
              f"        client with 10,000 calls in flight: RSS {m['client_10k_in_flight_rss_start_kib']:,} KiB at start, "
              f"{m['client_10k_in_flight_rss_end_kib']:,} KiB at end; "
              f"{m['client_10k_in_flight_calls_per_s']:,.0f} calls/s; errors {m['client_10k_in_flight_errors'] or 'none'}"]

service_rss = [(c["topology"], c["case"], r.get("service_rss_start_kib"), r.get("service_rss_end_kib"))
               for c in summary["cases"] for r in c["rounds"][:1]]
if service_rss:
    lines += ["", "echo-1 RSS (KiB) at start and end of each case's first round: " + "; ".join(
        f"{t} {c} {a}->{b}" for t, c, a, b in service_rss if a)]

json.dump(summary, open(summary_path, "w"), indent=2)
print("\n".join(lines))
print(f"\nraw results: {raw_path}\nsummary: {summary_path}")
