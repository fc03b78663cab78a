"""A worker's soft time limit firing inside a plugin's hook ends the task, not one object."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

import workers.jobs  # noqa: F401  # what a worker imports: it tells the plugin chain about the limit
from drsyncer.plugins.chain import Place, PluginSetting, chain_for
from tests.unit.plugins.registry import CARELESS, sample_registry


def test_a_soft_time_limit_inside_a_hook_is_raised_on_not_taken_for_the_objects_failure() -> None:
    # taken for the object's failure, the task would write on past its soft limit until the hard
    # limit killed the process, its results unreported
    place = Place("dr-system/web", "source", "web", "dr1", "web")
    plugins = chain_for(
        [PluginSetting.of("raising", {"exception": "SoftTimeLimitExceeded"})],
        sample_registry(CARELESS),
        place,
    )
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad", "namespace": "web"}}
    with pytest.raises(SoftTimeLimitExceeded):
        plugins.apply(bad)
