"""Data: synthetic tasks with known MI (:mod:`iblearn.data.synthetic`) and offline-first loaders."""

from iblearn.data.synthetic import Task, get_task, standard_tasks

__all__ = ["Task", "get_task", "standard_tasks"]
