"""Screens pushed over the lab: the EWA lab (``e``) and help (``?``).

Import them from their modules (``tui.screens.ewa_lab.EwaLabScreen``,
``tui.screens.help.HelpScreen``); both style themselves from ``screens.tcss`` next to them.
"""
