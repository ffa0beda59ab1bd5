"""Model registry: ``--model foo`` loads ``models/foo_model.py`` and its ``FooModel`` class.

To add a model, create ``models/<name>_model.py`` with a subclass of
:class:`models.base_model.BaseModel` named ``<Name>Model`` (underscores dropped,
case-insensitive) and implement ``set_input``, ``forward`` and
``optimize_parameters``; ``template_model.py`` is a working example.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

_PACKAGE_DIR = Path(__file__).resolve().parent


def available_models() -> list[str]:
    """Names accepted by ``--model`` (every ``models/<name>_model.py``)."""
    return sorted(p.stem[: -len("_model")] for p in _PACKAGE_DIR.glob("*_model.py") if p.stem != "base_model")


def find_model_using_name(model_name: str):
    """Return the BaseModel subclass defined in ``models/<model_name>_model.py``."""
    from models.base_model import BaseModel

    if model_name not in available_models():
        raise ValueError(f"unknown --model {model_name!r}; available: {', '.join(available_models())}")
    module = importlib.import_module(f"models.{model_name}_model")
    target = model_name.replace("_", "").lower() + "model"
    for name, cls in vars(module).items():
        if name.lower() == target and isinstance(cls, type) and issubclass(cls, BaseModel):
            return cls
    raise ValueError(f"models/{model_name}_model.py defines no BaseModel subclass named "
                     f"{model_name.replace('_', '').title()}Model (case-insensitive)")


def get_option_setter(model_name: str):
    """The model class's static ``modify_commandline_options(parser, is_train)``."""
    return find_model_using_name(model_name).modify_commandline_options


def create_model(opt):
    """Instantiate the model named by ``opt.model``; call ``model.setup(opt)`` afterwards."""
    model = find_model_using_name(opt.model)(opt)
    logger.info("model [%s] was created", type(model).__name__)
    return model
