// Package blueprint reads and writes Factorio blueprint exchange strings —
// the text players copy out of the game — for Factorio 1.x and 2.0: single
// blueprints, (nested) blueprint books, and upgrade and deconstruction
// planners, which are recognised and reported but never applied.
//
// Decode turns a string into a typed model normalised to 2.0 conventions
// (16-way directions, wires as (entity, connector, entity, connector),
// positions in fixed point of 1/256 tile) that the simulation pastes from;
// fields the model does not cover are kept byte for byte and written back by
// Encode. Inspect summarises a string for `starlane blueprint inspect`.
//
// Decoding is bounded (Limits) and never panics on hostile input: every
// failure is an error naming the JSON path or the limit. The package knows
// nothing of the simulation; callers pass the set of entity names their
// prototype bundle supports. See DESIGN.md for the format decisions.
package blueprint
