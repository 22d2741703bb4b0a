"""Ionic conductivity: Arrhenius fits to 25 C and a regressor of log10 sigma with uncertainty."""
