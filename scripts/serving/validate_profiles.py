"""Validates Ray Serve config files (deploy/ray/*.yaml) with Ray's own models, without a cluster or a GPU.

Each file, with ${MODELS_DIR} filled in, must be a valid ServeDeploySchema (what
`PUT /api/serve/applications/` takes); each application built by Ray Serve LLM's
`build_openai_app` must have args that LLMServingArgs accepts (each llm_config an LLMConfig:
accelerator type, deployment and autoscaling config), and engine_kwargs that vLLM knows (Ray's
VLLMEngineConfig.from_llm_config refuses an unknown engine argument). Ray ignores an unknown key
in an autoscaling_config (a typo would silently keep the defaults): this script refuses it.

usage: python validate_profiles.py MODELS_DIR FILE...
Prints one line per file ("ok <file>: <apps>" or "invalid <file>: <why>"); exits 1 if any is invalid.
"""

import sys

import yaml
from ray.serve.config import AutoscalingConfig
from ray.serve.llm import LLMServingArgs
from ray.serve.schema import ServeDeploySchema

LLM_BUILDER = "ray.serve.llm:build_openai_app"


def validate(path: str, models_dir: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f.read().replace("${MODELS_DIR}", models_dir))
    schema = ServeDeploySchema.model_validate(config)
    names = []
    for app in schema.applications:
        names.append(app.name)
        if app.import_path != LLM_BUILDER:
            continue
        args = LLMServingArgs.model_validate(app.args)
        for llm_config in args.llm_configs:
            llm_config.get_engine_config()
            check_autoscaling(llm_config.deployment_config.get("autoscaling_config"))
    return names


def check_autoscaling(autoscaling: dict | None) -> None:
    if autoscaling is None:
        return
    unknown = sorted(set(autoscaling) - set(AutoscalingConfig.model_fields))
    if unknown:
        raise ValueError(f"autoscaling_config has no field {', '.join(unknown)} (Ray would ignore it)")
    AutoscalingConfig.model_validate(autoscaling)


def main() -> int:
    models_dir, files = sys.argv[1], sys.argv[2:]
    failed = False
    for path in files:
        try:
            names = validate(path, models_dir)
            print(f"ok {path}: {', '.join(names)}")
        except Exception as err:  # noqa: BLE001 - every failure is reported, per file
            failed = True
            why = " ".join(str(err).split())
            print(f"invalid {path}: {type(err).__name__}: {why}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
