// Package names screens names of people, companies and vessels against the
// sanctions lists' entries: normalisation (case, accents, punctuation,
// legal-form words, honorifics), romanisation-aware tokens, an in-memory
// token index for candidates, and a score in [0,1] that penalises missing
// tokens on either side and weighs agreeing or disagreeing birth years,
// countries and types. Entries of several lists that name one UN reference
// number are one party. docs/names.md describes the algorithm and its knobs.
package names
