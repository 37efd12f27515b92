"""The style gallery's contents: adding dropped files and folders, and the saved gallery.

Owned by the GUI thread; encoding is queued on the jobs thread (``jobs.add_style``), whose
results come back to the gallery through the window.
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.errors import InputError
from engine.media.imageio import IMAGE_SUFFIXES, list_images


class StyleLibrary:
    """Feeds ``gallery`` (a :class:`~app.gallery.StyleGallery`) from paths and the saved settings."""

    def __init__(self, gallery, jobs, settings, show_message):
        self.gallery, self.jobs, self.settings = gallery, jobs, settings
        self.show_message = show_message

    def add_paths(self, paths, select_first_new: bool = True) -> list[str]:
        """Add image files and folders; refused items are reported in one message.
        Returns the paths queued for encoding.

        ``select_first_new``: the first new style is ticked alone, unless the user has a blend
        (two or more styles ticked): then the blend stays as it is and the new styles unticked."""
        keep_blend = len(self.gallery.checked_entries(ready_only=False)) > 1
        added, refused = [], []
        for raw in paths:
            candidates, reason = _images_in(Path(raw))
            if reason:
                refused.append(reason)
            for candidate in candidates:
                key = str(candidate.resolve())
                if self.gallery.add_pending(key):
                    self.jobs.add_style(key, urgent=not added or not select_first_new)
                    added.append(key)
        if refused:
            self.show_message("refused: " + "; ".join(refused))
        if added and select_first_new and not keep_blend:
            self.gallery.check_only([added[0]])
        if added:
            count = f"{len(added)} style{'s' if len(added) > 1 else ''}"
            self.show_message(f"adding {count}, unticked to keep your blend: tick to blend in, double-click to use alone"
                              if select_first_new and keep_blend else f"adding {count}…")
        return added

    def load(self, styles, default_dir: Path) -> None:
        """The saved gallery (or, on a first run, the default styles), then ``styles`` ticked."""
        entries = self._saved_entries(default_dir)
        wanted = {str(Path(s).resolve()) for s in styles or ()}
        missing = 0
        for e in entries:
            if Path(e["path"]).is_file():
                if self.gallery.add_pending(e["path"], bool(e.get("checked")), int(e.get("weight", 50))):
                    urgent = e["path"] in wanted if wanted else bool(e.get("checked"))
                    self.jobs.add_style(e["path"], urgent=urgent)
            else:
                missing += 1
        if missing:
            self.show_message(f"{missing} gallery style{'s are' if missing > 1 else ' is'} missing on disk "
                              "and was left out")
        if styles:
            self.add_paths(styles, select_first_new=False)
            present = [p for p in self.gallery.paths() if p in wanted]
            if present:
                self.gallery.check_only(present)

    def _saved_entries(self, default_dir: Path) -> list[dict]:
        saved = self.settings.value("gallery", "")
        entries = []
        if saved:
            try:
                entries = [e for e in json.loads(saved) if isinstance(e, dict) and "path" in e]
            except (TypeError, ValueError):
                entries = []
        if not entries and not saved and default_dir.is_dir():
            entries = [{"path": str(p.resolve()), "checked": i == 0, "weight": 50}
                       for i, p in enumerate(list_images(default_dir))]
        return entries

    def save(self) -> None:
        data = [{"path": p, "checked": self.gallery.is_checked(p), "weight": self.gallery.entries[p].weight}
                for p in self.gallery.paths()]
        self.settings.setValue("gallery", json.dumps(data))


def _images_in(path: Path) -> tuple[list[Path], str | None]:
    """(image files at ``path``, or the reason it has none)."""
    if path.is_dir():
        try:
            candidates = list_images(path)
        except InputError as exc:
            return [], str(exc)
        return candidates, None if candidates else f"{path}: folder has no images"
    if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
        return [path], None
    reason = "no such file" if not path.exists() else "not an image (" + ", ".join(
        sorted(s.lstrip(".") for s in IMAGE_SUFFIXES)) + ")"
    return [], f"{path.name}: {reason}"
