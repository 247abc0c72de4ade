/**
 * @module data/import/sources
 * Your source names and how their events are written (docs/import.md § Sources): each name maps
 * to one of the model's four source slots (bill, minipro, spm, search; several names may share
 * a slot), optionally with a render template, field order, units and hidden fields.
 *
 * A source with only a slot keeps today's form: the event's fields are written as they are and
 * rendered by the slot's clauses at training time. A source with `render`, `order`, `units` or
 * `hide` is rendered here, once: the event is written as `{ts, line, …shown fields}`, and the
 * renderer shows `On <date> <line>` (docs/data-format.md). Hidden fields, and with `render` every
 * field it does not name, are not written at all (so no baseline or model sees them), but answer
 * and label templates still read them.
 */
import { SOURCE_NAMES, type SourceEvent, type SourceName } from '../types.js';
import type { ExprContext } from './expr.js';
import { eventScope, parseTemplate, renderTemplate, type Template } from './template.js';
import { formatValue } from './expr-eval.js';

export interface SourceSpec {
  name: string;
  slot: SourceName;
  /** Render template of one event (null = the default rendering). */
  render: Template | null;
  /** Fields first in the default rendering, in this order (others follow in their column order). */
  order: string[];
  /** Field → unit written after its value in the default rendering ("3000 NT dollars"). */
  units: Record<string, string>;
  hide: ReadonlySet<string>;
  /** Rendered at import (any of render/order/units/hide given). */
  prerender: boolean;
}

const SPEC_KEYS = ['slot', 'render', 'order', 'units', 'hide'];

/** Parses the `sources` section; problems go to `problem(key, why)`. */
export function parseSources(raw: unknown, problem: (key: string, why: string) => void): Map<string, SourceSpec> {
  const specs = new Map<string, SourceSpec>();
  for (const slot of SOURCE_NAMES) specs.set(slot, plain(slot, slot));
  if (raw === undefined) return specs;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problem('sources', 'must be an object: source name → slot name, or → {"slot", "render", "order", "units", "hide"}');
    return specs;
  }
  const ctx: ExprContext = { kind: 'event', sources: new Set(), hasFuture: false };
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const key = `sources.${name}`;
    if (/[.\s=!~<>:[\]]/.test(name)) {
      problem(key, 'source names may not contain spaces or any of . = ! ~ < > : [ ] (templates write source.field)');
      continue;
    }
    if (typeof value === 'string') {
      if (!SOURCE_NAMES.includes(value as SourceName)) problem(key, `must be one of ${SOURCE_NAMES.join(', ')}; got ${JSON.stringify(value)}`);
      else specs.set(name, plain(name, value as SourceName));
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problem(key, `must be a slot name (${SOURCE_NAMES.join(', ')}) or an object {"slot", "render", "order", "units", "hide"}`);
      continue;
    }
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v)) if (!SPEC_KEYS.includes(k)) problem(`${key}.${k}`, `unknown key; allowed: ${SPEC_KEYS.join(', ')}`);
    if (!SOURCE_NAMES.includes(v.slot as SourceName)) {
      problem(`${key}.slot`, `must be one of ${SOURCE_NAMES.join(', ')}; got ${JSON.stringify(v.slot)}`);
      continue;
    }
    let render: Template | null = null;
    if (v.render !== undefined) {
      try {
        if (typeof v.render !== 'string' || v.render.trim() === '') throw new Error('must be a non-empty template string');
        render = parseTemplate(v.render, ctx);
      } catch (err) {
        problem(`${key}.render`, (err as Error).message);
      }
    }
    const strings = (k: 'order' | 'hide'): string[] => {
      const list = v[k] ?? [];
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === '')) {
        problem(`${key}.${k}`, 'must be a list of field names');
        return [];
      }
      return list as string[];
    };
    const units = (v.units ?? {}) as Record<string, unknown>;
    if (typeof units !== 'object' || units === null || Array.isArray(units) || Object.values(units).some((u) => typeof u !== 'string')) {
      problem(`${key}.units`, 'must be an object: field → unit text');
    }
    if (render && (v.order !== undefined || v.units !== undefined)) problem(key, '"order" and "units" shape the default rendering; with "render" write them into the template');
    const hide = new Set(strings('hide'));
    if (render) for (const f of hide) if (render.reads.names.has(f)) problem(`${key}.hide`, `"${f}" is hidden but the render template shows it`);
    specs.set(name, {
      name, slot: v.slot as SourceName, render, order: strings('order'), units: units as Record<string, string>, hide,
      prerender: render !== null || v.order !== undefined || v.units !== undefined || v.hide !== undefined,
    });
  }
  return specs;
}

function plain(name: string, slot: SourceName): SourceSpec {
  return { name, slot, render: null, order: [], units: {}, hide: new Set(), prerender: false };
}

/** Fields of an event a spec writes into the record (and so shows to the model and the baselines). */
export function shownFields(spec: SourceSpec, fields: Record<string, string | number | boolean>): string[] {
  const names = Object.keys(fields);
  if (spec.render) return names.filter((f) => spec.render!.reads.names.has(f));
  return names.filter((f) => !spec.hide.has(f));
}

/** The event as written into the record: `{ts, …fields}`, or `{ts, line, …shown fields}` when rendered here. */
export function recordEvent(spec: SourceSpec, ts: string, fields: Record<string, string | number | boolean>): SourceEvent {
  if (!spec.prerender) return { ts, ...fields };
  const shown = shownFields(spec, fields);
  const event: SourceEvent = { ts, line: renderLine(spec, fields, shown) };
  for (const f of shown) event[f] = fields[f];
  return event;
}

function renderLine(spec: SourceSpec, fields: Record<string, string | number | boolean>, shown: string[]): string {
  if (spec.render) return renderTemplate(spec.render, eventScope(fields), 'empty')!;
  const ordered = [...spec.order.filter((f) => shown.includes(f)), ...shown.filter((f) => !spec.order.includes(f))];
  return ordered
    .map((f) => `${f.replace(/_/g, ' ')} ${formatValue(fields[f]!)}${spec.units[f] ? ` ${spec.units[f]}` : ''}`)
    .join(', ');
}
