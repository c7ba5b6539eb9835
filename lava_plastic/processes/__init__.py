"""Lava Processes of lava-plastic. Each lives in ``<name>/process.py`` with its ProcessModels in
``<name>/models.py`` beside it, where Lava's standard model discovery finds them. These
directories hold nothing else: Lava imports every module in them."""
