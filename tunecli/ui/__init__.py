"""Terminal output: the one Console and its styles (``console``), the live search display
(``progress``), tables (``tables``) and the rendering of each command's outcome (``render``)."""
