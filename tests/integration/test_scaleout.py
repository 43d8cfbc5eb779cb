# SPDX-License-Identifier: MIT
"""Several hookstream replicas behind a (simulated) load balancer, one Redis:
the only shared state is Redis, so events spread over the replicas, retried
on other replicas, and sent twice to two replicas at once are each stored
exactly once. One replica is killed -9 in the middle; its spool (its own
directory) is replayed by its successor."""

import signal

from conftest import metric, wait_until
from sender import Sender, count_in_streams, make_events


def test_three_replicas_one_redis_exactly_once(relay, redis, tmp_path):
    replicas = [relay(env={"HOOKSTREAM_SPOOL_DIR": str(tmp_path / f"spool-{i}"),
                           "HOOKSTREAM_PUBLISH_TIMEOUT": "1000"}) for i in range(3)]
    urls = [r.url for r in replicas]
    events = make_events(600, "SCALE")
    # Three senders, each starting on another replica and failing over to the
    # next; each re-sends every event once more after its 2xx (a sender that
    # missed the answer), and that retry lands on the next replica.
    groups = [events[i::3] for i in range(3)]
    senders = [Sender(urls[i:] + urls[:i], groups[i], concurrency=4, duplicate_retries=True)
               for i in range(3)]
    # A fourth sends the first group again, at the same time, to another
    # replica: two replicas race on the same event ids.
    racer = Sender(urls[1:] + urls[:1], groups[0], concurrency=4)
    everyone = senders + [racer]
    for s in everyone:
        s.start()

    # Kill one replica mid-run (its connections drop; senders fail over) and
    # start a successor on its spool directory.
    wait_until(lambda: sum(s.acked_count() for s in senders) >= 150, 20,
               what="a quarter acknowledged")
    victim = replicas[2]
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(5)
    victim.checked = True
    # same ports, same spool directory: the load balancer's target comes back
    successor = relay(env={k: v for k, v in victim.env.items() if k.startswith("HOOKSTREAM_")})

    for s in everyone:
        s.finish(40)
    wait_until(lambda: all(metric_ok(r) for r in (replicas[0], replicas[1], successor)), 10,
               what="every spool drained")

    counter = count_in_streams(redis.client)
    acked = set().union(*(s.acked for s in everyone))
    sent = set().union(*(s.sent for s in everyone))
    dups = {e: n for e, n in counter.items() if n > 1}
    missing = acked - set(counter)
    unknown = set(counter) - sent
    line = (f"scenario three-replicas: sent {len(sent)}, acknowledged {len(acked)}, "
            f"found in streams {sum(counter.values())}, "
            f"duplicates {sum(n - 1 for n in dups.values())}")
    print(line)
    assert acked == sent, f"{line}; never acknowledged: {sorted(sent - acked)[:5]}"
    assert not missing and not dups and not unknown, \
        f"{line}; missing {sorted(missing)[:5]}, duplicated {list(dups.items())[:5]}, " \
        f"unknown {sorted(unknown)[:5]}"
    # every replica took part
    for r in (replicas[0], replicas[1]):
        m = r.metrics()
        took = sum(v for (name, labels), v in m.items()
                   if name == "hookstream_events_total"
                   and dict(labels).get("outcome") in ("published", "duplicate", "spooled"))
        assert took > 0, f"replica {r.url} took no event"


def metric_ok(r):
    return metric(r.metrics(), "hookstream_spool_records") == 0

