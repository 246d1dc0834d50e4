"""The deployment's rules, built once from the settings: which classifiers and inpainters a visitor may use,
whether weights may be downloaded, the busy limit, Score-CAM's channel limit, and whether sweeps run here.

Public mode (a demo on a shared CPU): only allow-listed classifiers, no downloads, no sweeps, Score-CAM only up
to a channel limit, and the busy limit: when more removals already wait for the CPU than the limit, new work is
turned away with a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ic import compute, explain
from ic.classifiers import Classifier, ModelChoice, get_classifier, is_loaded, list_choices, loading_step, resolve_choice, usual_load_s
from ic.errors import ICError
from ic.inpaint import Inpainter, baselines, default_inpainter_name, get_inpainter, list_inpainters, resolve_inpainter
from ic.settings import HistorySettings, PublicSettings, history_settings, public_settings, sweep_root

BUSY = "The server is busy with other visitors' removals; paint again in a moment."


class Busy(ICError):
    """Public mode's busy limit: more work already waits for the CPU than the limit allows."""


class Policy:
    """What this deployment allows; every page and the CLI ask it before heavy work."""

    @property
    def public(self) -> PublicSettings:
        return public_settings()

    @property
    def history(self) -> HistorySettings:
        return history_settings()

    # --- classifiers -------------------------------------------------------------------------

    def model_choices(self) -> list[ModelChoice]:
        """The classifiers this deployment offers: every one, or in public mode the allow-list."""
        public = self.public
        return [choice for choice in list_choices() if not public.enabled or choice.name in public.models]

    def free_model_names(self) -> bool:
        """Whether a visitor may name any timm model (not in public mode: that could mean gigabytes)."""
        return not self.public.enabled

    def classifier(self, name: str, on_step: Callable[[str], None] | None = None) -> Classifier:
        """A classifier this deployment allows, from the process's one model cache; `on_step` hears what its
        load does, when this call loads it."""
        public = self.public
        if public.enabled and name not in public.models:
            raise ICError(f"This public demo offers only {', '.join(public.models)}; {name!r} is not one of them. "
                          "Run the app yourself to try any timm model.")
        if is_loaded(name):
            return get_classifier(name)
        resolve_choice(name)  # an unknown name is refused with the list of valid ones
        return get_classifier(name, on_step)

    @staticmethod
    def classifier_ready(name: str) -> bool:
        """Whether `name` is loaded and answers at once."""
        return is_loaded(name)

    @staticmethod
    def classifier_loading(name: str) -> str | None:
        """What a load of `name` in progress (in any thread) is doing, or None."""
        return loading_step(name)

    @staticmethod
    def usual_load_s(name: str) -> float | None:
        """How long the last load of `name` took on this machine, or None."""
        return usual_load_s(name)

    # --- inpainters --------------------------------------------------------------------------

    @staticmethod
    def inpainter_choices() -> list[dict]:
        return list_inpainters()

    @staticmethod
    def default_inpainter() -> str:
        """The inpainter a page starts with: LaMa where its weights are here, else PatchMatch (one rule, in
        ic.inpaint, for the page and the server's preparation)."""
        return default_inpainter_name()

    @staticmethod
    def inpainter(name: str) -> tuple[Inpainter, str | None]:
        """The method to use for `name` (a fallback where it cannot run now, never a download) and why."""
        return resolve_inpainter(name)

    @staticmethod
    def baselines() -> tuple[str, ...]:
        """The inpainters that can replace a whole background (a baseline, not an invention)."""
        return baselines()

    def may_download(self, name: str) -> bool:
        """Whether the weights of inpainter `name` may be downloaded here (never on a public demo)."""
        return not self.public.enabled and get_inpainter(name).weights_mb is not None

    def download(self, name: str, progress: Callable[[int, int], None] | None = None) -> None:
        """Fetch the weights of inpainter `name` (progress: bytes done, bytes in all)."""
        method = get_inpainter(name)
        if self.public.enabled:
            raise ICError(f"This public demo does not download {method.title}; run the app yourself to use it.")
        method.download(progress=progress)

    # --- limits ------------------------------------------------------------------------------

    def admit(self) -> None:
        """The busy limit of public mode, checked before any heavy work."""
        public = self.public
        if public.enabled and compute.queued() >= public.max_queue:
            raise Busy(BUSY)

    def check_scorecam(self, classifier: Classifier):
        """Score-CAM's cost (one forward pass per channel), refused in public mode past the channel limit."""
        cost = explain.scorecam_cost(classifier)
        if self.public.enabled and cost.channels > explain.SCORECAM_PUBLIC_CHANNELS:
            raise ICError(f"{cost.sentence()} This public demo runs Score-CAM only up to "
                          f"{explain.SCORECAM_PUBLIC_CHANNELS} channels; use Grad-CAM, or run the app yourself.")
        return cost

    def sweeps_refused(self) -> str | None:
        """Why sweeps are off here (a public demo), or None."""
        if self.public.enabled:
            return ("Sweeps are off on this public demo: one takes minutes of the CPU that every visitor shares. "
                    "Run the app yourself (see the README), or `python -m ic sweep` on your machine.")
        return None

    def sweep_root(self) -> Path | None:
        """The server folder sweeps may read datasets from: only in team mode, and only when one is configured
        ([sweeps] root, IC_SWEEP_ROOT)."""
        return sweep_root() if self.history.shared else None
