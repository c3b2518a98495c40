"""The data-health figures (health.*) after each publish, and the laptop's dashboard views."""
