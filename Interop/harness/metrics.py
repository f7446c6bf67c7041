"""Reading Parley's /metrics the way Prometheus does, with the official client's parser."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape_now(port: int) -> tuple[str, dict[str, object]]:
    """(Content-Type, metric families by name) of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        families = {family.name: family for family in text_string_to_metric_families(response.read().decode())}
    return content_type, families


async def scrape(stack) -> tuple[str, dict[str, object]]:
    """One scrape of the stack's Parley (its HTTP listener is on the component port + 2)."""
    return await asyncio.get_running_loop().run_in_executor(None, scrape_now, stack.settings.component_port + 2)


def value(families, name: str, suffix: str = "", **labels) -> float:
    """The sample `name+suffix` with these labels (0 when absent)."""
    family = families[name]
    for sample in family.samples:
        if sample.name == name + suffix and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0.0
