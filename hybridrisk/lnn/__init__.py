"""Liquid (continuous-time) recurrent cells and encoders."""
