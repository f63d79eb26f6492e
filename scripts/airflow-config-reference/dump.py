"""Prints the configuration reference of the Airflow installed in this Python environment as JSON:
every option of Airflow core and of every installed provider, with its section, key, environment
variable, default, whether it is sensitive (only sensitive options honour `_CMD` and `_SECRET`),
the version it was added in, and its deprecation (the release, the reason and the option that
replaces it). Run by generate.sh in an environment with the real packages from PyPI."""
import json
import sys
import warnings
from importlib import metadata

warnings.simplefilter("ignore")

from airflow.configuration import conf, retrieve_configuration_description  # noqa: E402
from airflow.providers_manager import ProvidersManager  # noqa: E402

description = retrieve_configuration_description(include_airflow=True, include_providers=True)
owners = {section: provider for provider, config in ProvidersManager().provider_configs for section in config}
# {(new section, new key): (old section, old key, version)}: options renamed, the old name still read
renamed = type(conf).deprecated_options
replaced_by = {(old_section, old_key): f"{section}.{key}" for (section, key), (old_section, old_key, _v) in renamed.items()}


def env_name(section, key):
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{key.upper()}"


options = []
for section, body in description.items():
    for key, option in (body.get("options") or {}).items():
        sensitive = option.get("sensitive") is True
        deprecated_in = option.get("version_deprecated")
        options.append({
            "section": section,
            "key": key,
            "env": env_name(section, key),
            "default": option.get("default"),
            "type": option.get("type"),
            "sensitive": sensitive,
            "supports_cmd_secret": sensitive,
            "version_added": option.get("version_added"),
            "deprecated": deprecated_in is not None,
            "version_deprecated": deprecated_in,
            "deprecation_reason": (option.get("deprecation_reason") or "").strip() or None,
            "source": owners.get(section, "apache-airflow-core"),
        })
# the old names of renamed options: Airflow still reads them, with a deprecation warning
for (old_section, old_key), new_name in sorted(replaced_by.items()):
    options.append({
        "section": old_section,
        "key": old_key,
        "env": env_name(old_section, old_key),
        "default": None,
        "type": None,
        "sensitive": False,
        "supports_cmd_secret": False,
        "version_added": None,
        "deprecated": True,
        "version_deprecated": renamed[tuple(new_name.split(".", 1))][2],
        "deprecation_reason": f"renamed to [{new_name.split('.', 1)[0]}] {new_name.split('.', 1)[1]}",
        "replacement": env_name(*new_name.split(".", 1)),
        "source": "apache-airflow-core",
    })
packages = sorted(
    (d.metadata["Name"].lower(), d.version)
    for d in metadata.distributions()
    if d.metadata["Name"].lower().startswith("apache-airflow")
)
json.dump({
    "airflow_version": metadata.version("apache-airflow-core"),
    "python_version": sys.version.split()[0],
    "packages": dict(packages),
    "options": sorted(options, key=lambda o: (o["section"], o["key"])),
}, sys.stdout, indent=1, default=str)
sys.stdout.write("\n")
