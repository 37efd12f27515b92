"""``--keep person|background`` and ``--person-style IMAGE``, shared by ``stylize`` and ``video``."""
from __future__ import annotations

from engine.errors import InputError


def add_person_arguments(p) -> None:
    p.add_argument("--keep", choices=["person", "background"], default=None,
                   help="keep the person (or the background) as filmed and paint the other with --style "
                        "(automatic person segmentation)")
    p.add_argument("--person-style", nargs="+", default=None, metavar="IMAGE",
                   help="paint the person with these style image(s) (blended equally) and the "
                        "background with --style")


def person_mode(args) -> str:
    """The person mode the arguments ask for ("all" without person flags); checks that
    segmentation can run here. Raises InputError (one line, exit 2) otherwise."""
    keep, person_styles = getattr(args, "keep", None), getattr(args, "person_style", None)
    if keep is None and not person_styles:
        return "all"
    if keep and person_styles:
        raise InputError(None, "--keep and --person-style exclude each other: --keep styles one side with "
                               "--style, --person-style gives each side its own style")
    if getattr(args, "mask", None):
        raise InputError(None, "--mask and the person options exclude each other")
    from engine.runtime.person import unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise InputError(None, reason)
    return "split" if person_styles else f"keep_{keep}"
