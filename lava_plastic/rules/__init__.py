"""Learning rules: pure functions over arrays with a leading batch axis."""
