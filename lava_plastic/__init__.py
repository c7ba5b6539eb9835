"""lava-plastic."""
