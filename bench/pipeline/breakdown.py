#!/usr/bin/env python3
"""Split the pipeline latency into hops from a `perf trace` log.

Reads the output of `perf trace -e write,read,sendto,writev` over a run of
bench/pipeline/agent.c and, for each error line the agent wrote, follows
the first matching system call of each process in pipeline order:

  agent write(2) -> supervisor read -> supervisor send (ring data)
  -> watchdog send (detection) -> supervisor send (recall record)
  -> recall send (result) -> supervisor send (render) -> operator send
  (rendered) -> supervisor writev (intervene) -> adapter write (agent stdin)
  -> agent read

Prints the median and p90 of each hop in microseconds. perf trace itself
adds time to every traced system call, so the absolute numbers are higher
than in an untraced run. The shares show where the time goes.

usage: breakdown.py TRACE
"""

import re
import statistics
import sys

LINE = re.compile(
    r"^\s*(?P<ts>[\d.]+) \(\s*(?P<dur>[\d.]+) ms\): (?P<comm>\S+?)/\d+ "
    r"(?:\.\.\. \[continued\]: )?(?P<call>\w+)\((?P<args>.*?)\)\s+= (?P<ret>-?\d+)"
)

# (hop name, part of the process name, system call that ends the hop)
STEPS = [
    ("agent write to supervisor read", "cake", "read"),
    ("supervisor: ring append, notify watchdog", "cake", "sendto"),
    ("watchdog: read ring, match rules", "watchdog", "sendto"),
    ("supervisor: classify, send to recall", "cake", "sendto"),
    ("recall: SQLite record and lookup", "recall", "sendto"),
    ("supervisor: decide, send to operator", "cake", "sendto"),
    ("operator: render", "operator", "sendto"),
    ("supervisor: send intervene to adapter", "cake", "writev"),
    ("adapter: write agent stdin", "adapter", "write"),
    ("pipe to agent read", "bench_pipeline", "read"),
]


def parse(path):
    calls = []
    with open(path, encoding="utf-8", errors="replace") as trace:
        for line in trace:
            match = LINE.match(line)
            if match is None:
                continue
            start = float(match["ts"])
            calls.append((start, start + float(match["dur"]), match["comm"],
                          match["call"], match["args"], int(match["ret"])))
    calls.sort()
    return calls


def process_matches(comm, part):
    if part == "cake":
        return comm == "cake"
    return part in comm


def follow(calls, index):
    """Return the end time of each step after the agent's write at INDEX, or None."""
    times = [calls[index][0]]
    position = index + 1
    for _, part, call in STEPS:
        while position < len(calls):
            _, end, comm, name, _, ret = calls[position]
            position += 1
            if process_matches(comm, part) and name == call and ret > 0:
                times.append(end)
                break
        else:
            return None
    return times


def main():
    calls = parse(sys.argv[1])
    hops = [[] for _ in STEPS]
    totals = []
    for index, (_, _, comm, call, args, _) in enumerate(calls):
        if not (comm.startswith("bench_pipeline") and call == "write" and "fd: 2," in args):
            continue
        times = follow(calls, index)
        if times is None:
            continue
        for hop in range(len(STEPS)):
            hops[hop].append((times[hop + 1] - times[hop]) * 1000)
        totals.append((times[-1] - times[0]) * 1000)
    if not totals:
        sys.exit("breakdown.py: no complete error-to-correction sequence in the trace")

    print(f"| hop (under perf trace, {len(totals)} errors) | median µs | p90 µs |")
    print("| --- | --- | --- |")
    for (name, _, _), values in zip(STEPS, hops):
        values.sort()
        print(f"| {name} | {statistics.median(values):.0f} | "
              f"{values[int(0.9 * (len(values) - 1))]:.0f} |")
    totals.sort()
    print(f"| total | {statistics.median(totals):.0f} | "
          f"{totals[int(0.9 * (len(totals) - 1))]:.0f} |")


if __name__ == "__main__":
    main()
