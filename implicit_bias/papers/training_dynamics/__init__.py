"""Training dynamics beyond the papers' toy set-ups: the presets ``edge_of_stability``,
``catapult``, ``label_noise`` and ``sam_diagonal`` (``conf/experiment/``) and their figures
(``python -m implicit_bias.papers.training_dynamics figures [NAME] [--docs]``)."""
