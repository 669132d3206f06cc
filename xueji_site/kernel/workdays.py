"""Working days in mainland China, for deadlines.

Public holidays are off and the weekend days worked in exchange (调休) are
on, from the ``chinesecalendar`` package's tables of the State Council's
yearly arrangements. A year the package does not know yet (the next year's
arrangement is published each November; upgrade the package then) falls
back to Monday to Friday.
"""
import datetime

import chinese_calendar


def is_working_day(day):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start, days):
    """The date ``days`` working days after ``start``."""
    day = start
    while days > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day
