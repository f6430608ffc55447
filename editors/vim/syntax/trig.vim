" Vim syntax file
" Language:    Trig (behavioral triggers, compiled by trigc)
" Filenames:   *.trig
"
" Keep the keyword lists in step with grammar/trig.pest and the VS Code grammar
" (editors/vscode/syntaxes/trig.tmLanguage.json): tests/editors.rs checks it.

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Comments: `#` to the end of the line.
syn keyword trigTodo        contained TODO FIXME XXX NOTE
syn match   trigComment     "#.*$" contains=trigTodo,@Spell

" Strings with JSON escapes; any other escape is an error.
syn match   trigEscape      contained +\\\%(["\\/bfnrt]\|u\x\{4}\)+
syn match   trigBadEscape   contained +\\\%(["\\/bfnrtu]\)\@!.+
syn region  trigString      start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ contains=trigEscape,trigBadEscape,@Spell

" Declarations.
syn keyword trigDeclaration schema event state trigger keyed by type from format epoch
" Trigger options.
syn keyword trigOption      priority cooldown limit per reentry restart skip parallel exit
" Starts, steps, patterns and schedules.
syn keyword trigControl     on every day at cron for each where wait unless if then as with to within
" Actions. `set` is also a type (`set<string>`): a keyword would win over any match
" at the same column, so both uses of `set` are matches, the type one defined last.
syn keyword trigAction      webhook email emit enroll
syn match   trigAction      "\<set\>"
" Word operators.
syn keyword trigOperatorWord and or not in contains
" Types.
syn keyword trigType        string int float bool time duration list
syn match   trigType        "\<set\ze\s*<"
syn keyword trigBoolean     true false
" Names the language binds.
syn keyword trigVariable    key now ts profile
" Built-in functions and aggregates.
syn keyword trigFunction    count sum min max avg exists distinct last first len lower upper starts_with ends_with abs
" Reducer operations inside `state` blocks.
syn keyword trigReducer     insert remove clear add push

" Event names are UPPER_SNAKE.
syn match   trigEvent       "\<\u[A-Z0-9_]*\>"

" Literals. Durations (`30m`, `1h30m`) before numbers; `02:00` in schedules.
syn match   trigNumber      "\<\d\+\>"
syn match   trigFloat       "\<\d\+\.\d\+\%([eE][+-]\=\d\+\)\=\>"
syn match   trigDuration    "\<\%(\d\+\%(ms\|s\|m\|h\|d\|w\)\)\+\>"
syn match   trigTimeOfDay   "\<\d\{1,2}:\d\d\>"

" Operators.
syn match   trigOperator    "->\|??\|==\|!=\|<=\|>=\|[<>=+*/%?-]"

" After `.` any identifier is a field, keywords included (`profile.tier`,
" `cart.empty`). The match starts at the dot, so it wins over keywords.
syn match   trigMember      "\.\s*\h\w*" contains=trigDot
syn match   trigDot         contained "\."
" Object keys and declared fields may be keywords too (`{ now: new_price }`): the
" match starts at the `{` or `,` before the key, so it wins over keywords.
syn match   trigKeyStart    "[{,]\_s*\h\w*\ze\s*:" contains=trigKey,trigComment
syn match   trigKey         contained "\h\w*"
" The name after `trigger`, `state` and `enroll`.
syn match   trigTriggerName "\%(\<trigger\s\+\)\@<=\h\w*"
syn match   trigStateName   "\%(\<state\s\+\)\@<=\h\w*"
syn match   trigTriggerName "\%(\<enroll\s\+\)\@<=\%(\%(wait\|if\|then\)\>\)\@!\h\w*"

hi def link trigTodo        Todo
hi def link trigComment     Comment
hi def link trigString      String
hi def link trigEscape      SpecialChar
hi def link trigBadEscape   Error
hi def link trigDeclaration Structure
hi def link trigOption      StorageClass
hi def link trigControl     Keyword
hi def link trigAction      Statement
hi def link trigOperatorWord Operator
hi def link trigOperator    Operator
hi def link trigType        Type
hi def link trigBoolean     Boolean
hi def link trigVariable    Special
hi def link trigFunction    Function
hi def link trigReducer     Function
hi def link trigEvent       Constant
hi def link trigNumber      Number
hi def link trigFloat       Float
hi def link trigDuration    Number
hi def link trigTimeOfDay   Number
hi def link trigMember      Identifier
hi def link trigKey         Identifier
hi def link trigTriggerName Function
hi def link trigStateName   Identifier

let b:current_syntax = "trig"

let &cpo = s:cpo_save
unlet s:cpo_save
