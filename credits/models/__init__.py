from .config import CurrencyUnit, GrowthMarket, PointsRate, ProgramSettings, QualifyingAction, Tier
from .data import Activity, Deal, ImportedEvent, ImportJob
from .results import (
    CountedDay,
    CreditLine,
    DataChange,
    DayResult,
    EngineState,
    RecomputeBatch,
    RecomputeChunk,
    RecomputeRun,
    Standing,
    TierDay,
    TierHistory,
)

__all__ = [
    "Activity",
    "CountedDay",
    "CreditLine",
    "CurrencyUnit",
    "DataChange",
    "DayResult",
    "Deal",
    "EngineState",
    "GrowthMarket",
    "ImportJob",
    "ImportedEvent",
    "PointsRate",
    "ProgramSettings",
    "QualifyingAction",
    "RecomputeBatch",
    "RecomputeChunk",
    "RecomputeRun",
    "Standing",
    "Tier",
    "TierDay",
    "TierHistory",
]
