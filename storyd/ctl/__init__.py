"""storyctl: the operator's command-line client of the control socket and its formatting."""
