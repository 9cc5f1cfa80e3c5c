"""The browsing mix of bench/load_bench.py, for locust (started by that bench, headless).

Reads its work from the JSON file named by LOAD_BENCH_PLAN (written by the bench): the API
token, the slide-list query strings, the deep-zoom tile paths and the cluster ids. Each
simulated user is a closed loop (no think time) over three actions, by weight:
- slide list: one page of GET /api/slides/ with one of the slide browser's filter sets;
- viewer: a viewport of 4 deep-zoom tiles of the generated slide, in sequence;
- gallery: one cluster page: GET /api/clusters/{id}/ then its votes, in sequence.
Any status other than 200 counts as a failure.
"""

import json
import os
import random

from locust import FastHttpUser, constant, task

PLAN = json.loads(open(os.environ["LOAD_BENCH_PLAN"]).read())  # noqa: SIM115 - read once
TILES_PER_VIEW = 4


class Browser(FastHttpUser):
    wait_time = constant(0)
    # Keep-alive connections, one per user, as a browser tab's.
    connection_timeout = 60.0
    network_timeout = 120.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.headers = {"Authorization": f"Token {PLAN['token']}"}

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, headers=self.headers, name=name, catch_response=True) as reply:
            if reply.status_code != 200:
                reply.failure(f"HTTP {reply.status_code}")

    @task(2)
    def slide_list(self) -> None:
        self._get(f"/api/slides/?{self.rng.choice(PLAN['slide_queries'])}", "slide list")

    @task(3)
    def viewer(self) -> None:
        tiles = PLAN["tiles"]
        start = self.rng.randrange(len(tiles))
        for i in range(TILES_PER_VIEW):
            self._get(tiles[(start + i) % len(tiles)], "deep-zoom tile")

    @task(2)
    def gallery(self) -> None:
        cluster = self.rng.choice(PLAN["clusters"])
        self._get(f"/api/clusters/{cluster}/", "cluster detail")
        self._get(f"/api/clusters/{cluster}/votes/", "cluster votes")
