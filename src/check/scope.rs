//! What a name means at one place in the rules: which event is being matched
//! ([`Binding::Current`]), which events may have started the instance
//! ([`Binding::Start`]), and which aliases are bound.
//!
//! Bare names resolve in the order of docs/LANGUAGE.md §5.4: `key`, `now`, `ts`,
//! `profile`, aliases, fields of the event in scope (the matched event inside a
//! `where`, reducer or aggregate filter, otherwise the starting event), then states.

use crate::ir::{Binding, EventId};
use crate::syntax::{Name, Span};

/// Where an expression sits; decides what it may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The `where` of a start pattern: only the event being matched is bound.
    StartFilter,
    /// The `where` of an `unless` or `exit on` pattern: the matched event, plus the
    /// instance's starting event through aliases.
    MatchFilter,
    /// A reducer's filter and arguments: the reduced event.
    Reducer,
    /// An aggregate's `where`: only the aggregated event (it is evaluated once, when
    /// the event arrives, for every trigger that reads the aggregate).
    AggFilter,
    /// A step's guard and actions: the starting event.
    Step,
    /// The value of `for each key where S contains VALUE`: the starting event only.
    FanOut,
}

/// Which events may have started the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartEvents {
    /// `on A or B`.
    Events(Vec<EventId>),
    /// A trigger without a starting event; the text says how it starts.
    Missing(&'static str),
    /// Outside any trigger (reducers).
    NoTrigger,
}

/// How an alias is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AliasRole {
    /// `on A as a`: the starting event, readable everywhere in the trigger.
    /// `optional` when there are several start alternatives.
    Start { optional: bool },
    /// `unless P as p`, `exit on P as p`, `E as e -> ...`: only inside its own pattern.
    Matched,
}

/// One `as NAME` of the trigger (or reducer) being checked.
#[derive(Clone, Debug)]
pub struct Alias {
    pub name: Name,
    pub span: Span,
    /// `None` when the pattern's event is unknown (already reported).
    pub event: Option<EventId>,
    /// The pattern that binds it.
    pub pattern: Span,
    pub role: AliasRole,
    pub used: bool,
}

/// The names visible to one expression.
#[derive(Clone, Debug)]
pub struct Scope {
    pub place: Place,
    /// The event bound to [`Binding::Current`].
    pub current: Option<EventId>,
    /// Index (in the checker's alias table) of the alias of the current pattern.
    pub current_alias: Option<usize>,
    pub start: StartEvents,
    /// Some pattern's event was unknown (already reported): unknown names are then
    /// given the error type silently instead of cascading.
    pub partial: bool,
}

impl Scope {
    /// A scope at `place` with `current` being matched; no alias of its own, and
    /// unknown names reported (not `partial`).
    pub fn new(place: Place, current: Option<EventId>, start: StartEvents) -> Scope {
        Scope {
            place,
            current,
            current_alias: None,
            start,
            partial: false,
        }
    }

    /// Whether [`Binding::Start`] may be read here.
    pub fn start_visible(&self) -> bool {
        matches!(self.place, Place::MatchFilter | Place::Step | Place::FanOut)
    }

    /// The binding and candidate events that bare field names read.
    pub fn field_source(&self) -> Option<(Binding, Vec<EventId>)> {
        if let Some(e) = self.current {
            return Some((Binding::Current, vec![e]));
        }
        match (&self.start, self.start_visible()) {
            (StartEvents::Events(evs), true) => Some((Binding::Start, evs.clone())),
            _ => None,
        }
    }

    /// Scope of an aggregate's `where` over `event`, seen from this scope.
    pub fn for_aggregate(&self, event: EventId) -> Scope {
        Scope::new(Place::AggFilter, Some(event), self.start.clone())
    }

    /// What a trigger without a starting event starts on, for messages.
    pub fn missing_start(&self) -> Option<&'static str> {
        match self.start {
            StartEvents::Missing(how) if self.current.is_none() => Some(how),
            _ => None,
        }
    }
}
