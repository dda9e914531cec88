from .action import Action, ActionType
from .community_day import CommunityDay
from .config import ConfigVersion, FitRule, Rule, RuleSet, Stage
from .content import Content
from .erasure import ErasedIdentity, MemberErasure
from .exclusion import ActionExclusion
from .experiment import Experiment
from .interest import InterestBucket, InterestPending, InterestScore, InterestTopic, ScoreSnapshot, StageTransition
from .member import MergeBlock, Member
from .recompute import RecomputeJob
from .token import ApiToken

__all__ = [
    "Action", "ActionExclusion", "ActionType", "ApiToken", "CommunityDay", "ConfigVersion", "Content", "ErasedIdentity",
    "Experiment", "FitRule", "InterestBucket", "InterestScore", "InterestPending", "InterestTopic", "Member",
    "MemberErasure", "MergeBlock", "RecomputeJob", "Rule", "RuleSet", "ScoreSnapshot", "Stage", "StageTransition",
]
