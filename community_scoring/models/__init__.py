from .action import Action, ActionType
from .community_day import CommunityDay
from .config import ConfigVersion, FitRule, Rule, RuleSet, Stage
from .content import Content
from .erasure import ErasedIdentity, MemberErasure
from .interest import InterestBucket, InterestPending, InterestScore, InterestTopic, ScoreSnapshot, StageTransition
from .member import MergeBlock, Member
from .recompute import RecomputeJob
from .token import ApiToken

__all__ = [
    "Action", "ActionType", "ApiToken", "CommunityDay", "ConfigVersion", "Content", "ErasedIdentity", "FitRule", "InterestBucket", "InterestScore",
    "InterestPending", "InterestTopic", "Member", "MemberErasure", "MergeBlock", "RecomputeJob", "Rule", "RuleSet", "ScoreSnapshot", "Stage", "StageTransition",
]
