"""Triage: the answer vocabulary of the checklist and the explainable decision a policy makes from it.

Pure rules: given answers, a policy and the detection time, `triage()` says the severity, red
status, escalation level and deadlines, each with the rule that fired. It must never touch the
database, import streamlit or read the clock.
"""
