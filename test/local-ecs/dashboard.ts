/**
 * The deployment's CloudWatch dashboard, drawn from its widget definitions (the template's
 * DashboardBody) with the data the CloudWatch stand-in holds: what the sidecars published and
 * what the runtime publishes as ECS would (CPU and memory per service, running tasks). Metrics
 * only AWS produces (RDS, ElastiCache, the load balancer) show as "no data here".
 */
import * as fs from 'fs';
import * as path from 'path';
import { LocalEcs } from './cluster';

interface Series { label: string; right: boolean; points: [number, number][] }
interface Panel {
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
  kind: 'graph' | 'alarms' | 'text';
  series: Series[];
  alarms?: string[];
  /** Its metrics come from AWS services the runtime does not stand in for. */
  fromAws?: boolean;
}

const AWS_NAMESPACES = /^AWS\/(RDS|ElastiCache|ApplicationELB)$/;

/** Every number a widget shows, fetched from moto in one Python run. */
const FETCH = `
import datetime, re
now = datetime.datetime.now(datetime.timezone.utc)
start = now - datetime.timedelta(minutes=args['minutes'])
cw = client('cloudwatch')

def stats(namespace, name, dims, stat, period):
    kw = dict(Namespace=namespace, MetricName=name, Dimensions=[{'Name': k, 'Value': v} for k, v in dims.items()],
              StartTime=start, EndTime=now, Period=max(60, period))
    if re.match(r'^p\\d+', stat):
        return {}  # percentiles: not kept by the stand-in
    r = cw.get_metric_statistics(Statistics=[stat], **kw)
    return {p['Timestamp'].timestamp(): p[stat] for p in r['Datapoints']}

class S(dict):
    def _op(self, other, f):
        if isinstance(other, dict):
            return S({t: f(v, other[t]) for t, v in self.items() if t in other})
        return S({t: f(v, other) for t, v in self.items()})
    def __add__(self, o): return self._op(o, lambda a, b: a + b)
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b)

def FILL(s, v):
    return s
def MAX(items):
    times = set().union(*[set(i) for i in items]) if items else set()
    return S({t: max(i[t] for i in items if t in i) for t in times})

def search(expr, stat, period):
    m = re.match(r"\\{([^,}]+),([^}]*)\\}\\s*(.*)", expr)
    namespace, wanted = m.group(1), dict(re.findall(r'(\\w+)="([^"]*)"', m.group(3)))
    out, seen = [], set()
    for metric in cw.list_metrics(Namespace=namespace, MetricName=wanted.get('MetricName'))['Metrics']:
        dims = {d['Name']: d['Value'] for d in metric['Dimensions']}
        key = tuple(sorted(dims.items()))
        if key in seen:
            continue
        seen.add(key)
        if all(dims.get(k) == v for k, v in wanted.items() if k != 'MetricName'):
            out.append((' '.join(v for k, v in sorted(dims.items()) if k not in wanted), stats(namespace, metric['MetricName'], dims, stat, period)))
    return out

result = []
for widget in args['widgets']:
    values = {}
    # metrics first (an expression's inputs follow it in the widget's list), then expressions, in order
    fetched = {}
    for i, row in enumerate(widget['rows']):
        if 'expression' not in row:
            fetched[i] = stats(row['namespace'], row['name'], row['dims'], row['stat'], row['period'])
            if row.get('id'):
                values[row['id']] = fetched[i]
    series = []
    for i, row in enumerate(widget['rows']):
        if 'expression' in row:
            e = row['expression']
            if e.startswith('SEARCH('):
                m = re.match(r"SEARCH\\('(.*)',\\s*'(\\w+)',\\s*(\\d+)\\)", e)
                for label, pts in search(m.group(1), m.group(2), int(m.group(3))):
                    series.append({'label': f"{row['label']} {label}".strip(), 'right': row['right'], 'points': sorted(pts.items())})
                continue
            pts = eval(e, {'FILL': FILL, 'MAX': MAX}, {k: S(v) for k, v in values.items()})
            if row.get('visible', True):
                series.append({'label': row['label'], 'right': row['right'], 'points': sorted(pts.items())})
        elif row.get('visible', True):
            series.append({'label': row['label'], 'right': row['right'], 'points': sorted(fetched[i].items())})
    result.append(series)
print(json.dumps(result))
`;

/** The dashboard's body, resolved with the deployment's names. */
function dashboardBody(ecs: LocalEcs): any {
  const [dashboard] = ecs.deployment.resources('AWS::CloudWatch::Dashboard');
  if (!dashboard) throw new Error('the assembly has no AWS::CloudWatch::Dashboard');
  const body = ecs.deployment.resolve(dashboard.stack, dashboard.resource.Properties.DashboardBody);
  return JSON.parse(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The metric rows of a widget as the fetcher takes them. */
function rowsOf(properties: any): any[] {
  return (properties.metrics ?? []).map((row: any[]) => {
    const options = typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {};
    const right = options.yAxis === 'right';
    const visible = options.visible !== false;
    if (options.expression) return { expression: options.expression, label: options.label ?? options.expression, right, visible };
    const plain = row.filter(x => typeof x === 'string');
    const dims: Record<string, string> = {};
    for (let i = 2; i + 1 < plain.length; i += 2) dims[plain[i]] = plain[i + 1];
    return {
      namespace: plain[0],
      name: plain[1],
      dims,
      right,
      id: options.id,
      visible,
      stat: options.stat ?? properties.stat ?? 'Average',
      period: options.period ?? properties.period ?? 300,
      label: options.label ?? plain[1],
    };
  });
}

/** `AirflowServices-AirflowMonitoringSchedulerHeartbeatAlarmE9BB7896-e68d76e9` -> `SchedulerHeartbeatAlarm`. */
function alarmName(name: string): string {
  return name.replace(/^[^-]+-/, '').replace(/[0-9A-F]{8}-[a-z0-9]+$/, '').replace(/^Airflow(Monitoring)?/, '');
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function svgGraph(series: Series[], width: number, height: number, from: number, to: number): string {
  const plot = { left: 44, right: width - 44, top: 8, bottom: height - 18 };
  const axis = (right: boolean) => {
    const values = series.filter(s => s.right === right).flatMap(s => s.points.map(p => p[1]));
    const max = values.length ? Math.max(...values, 0) : 1;
    return { min: Math.min(0, ...values), max: max === 0 ? 1 : max * 1.1 };
  };
  const axes = { left: axis(false), right: axis(true) };
  const x = (t: number) => plot.left + (t - from) / (to - from) * (plot.right - plot.left);
  const y = (v: number, right: boolean) => {
    const a = right ? axes.right : axes.left;
    return plot.bottom - (v - a.min) / (a.max - a.min) * (plot.bottom - plot.top);
  };
  const fmt = (v: number) => Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(1)}k` : Number.isInteger(v) ? `${v}` : v.toFixed(v < 10 ? 2 : 0);
  const lines = series.map((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map(([t, v]) => `${x(t * 1000).toFixed(1)},${y(v, s.right).toFixed(1)}`).join(' ');
    return s.points.length === 1
      ? `<circle cx="${x(s.points[0][0] * 1000)}" cy="${y(s.points[0][1], s.right)}" r="2.5" fill="${color}"/>`
      : `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts}"/>`;
  }).join('');
  const hasRight = series.some(s => s.right);
  const ticks = [0, 0.5, 1].map(f => {
    const yy = plot.bottom - f * (plot.bottom - plot.top);
    const l = axes.left.min + f * (axes.left.max - axes.left.min);
    const r = axes.right.min + f * (axes.right.max - axes.right.min);
    return `<line x1="${plot.left}" x2="${plot.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`
      + `<text x="${plot.left - 4}" y="${yy + 4}" text-anchor="end">${fmt(l)}</text>`
      + (hasRight ? `<text x="${plot.right + 4}" y="${yy + 4}">${fmt(r)}</text>` : '');
  }).join('');
  const times = [0, 0.5, 1].map(f => {
    const t = new Date(from + f * (to - from));
    return `<text x="${plot.left + f * (plot.right - plot.left)}" y="${height - 4}" text-anchor="middle">${t.toISOString().slice(11, 16)}</text>`;
  }).join('');
  return `<svg width="${width}" height="${height}" font-size="10" fill="#555">${ticks}${times}${lines}</svg>`;
}

/**
 * Renders the dashboard to a PNG with headless Chromium; returns how many graphs it has and how
 * many of them show data.
 */
export async function renderDashboard(ecs: LocalEcs, file: string, minutes = 60): Promise<{ graphs: number; withData: number; names: string[] }> {
  const body = dashboardBody(ecs);
  const widgets = body.widgets as any[];
  const graphs = widgets.filter(w => w.type === 'metric' && w.properties.metrics);
  const queries = { minutes, widgets: graphs.map(w => ({ rows: rowsOf(w.properties) })) };
  const fetched: Series[][] = ecs.moto.python(FETCH, queries, ecs.deployment.stacks[0].region);
  const panels: Panel[] = widgets.map(w => {
    const base = { title: w.properties.title ?? '', x: w.x, y: w.y, width: w.width, height: w.height };
    if (w.type === 'alarm') return { ...base, kind: 'alarms', series: [], alarms: w.properties.alarms.map((a: string) => a.split(':').pop()) };
    if (w.type === 'metric') {
      const fromAws = rowsOf(w.properties).some(r => AWS_NAMESPACES.test(r.namespace ?? ''));
      return { ...base, kind: 'graph', series: fetched[graphs.indexOf(w)], fromAws };
    }
    return { ...base, kind: 'text', series: [] };
  });
  const to = Date.now();
  const from = to - minutes * 60_000;
  const unit = { w: 60, h: 34 };
  const html = `<!doctype html><html><head><style>
    body { margin: 0; font-family: "Amazon Ember", Helvetica, Arial, sans-serif; background: #f2f3f3; }
    .grid { position: relative; width: ${24 * unit.w}px; height: ${Math.max(...panels.map(p => p.y + p.height)) * unit.h + 8}px; }
    .panel { position: absolute; box-sizing: border-box; background: #fff; border: 1px solid #d5dbdb; padding: 6px 8px; overflow: hidden; }
    .title { font-size: 13px; font-weight: bold; color: #16191f; margin-bottom: 2px; }
    .legend { font-size: 10px; color: #333; } .legend span { margin-right: 10px; white-space: nowrap; }
    .nodata { color: #879596; font-size: 12px; padding-top: 30px; text-align: center; }
    .alarm { display: inline-block; font-size: 10px; margin: 2px 6px 2px 0; padding: 2px 6px; border-radius: 3px; background: #eaeded; color: #545b64; }
  </style></head><body><div class="grid">${panels.map(p => {
    const style = `left:${p.x * unit.w + 4}px;top:${p.y * unit.h + 4}px;width:${p.width * unit.w - 4}px;height:${p.height * unit.h - 4}px`;
    if (p.kind === 'alarms') {
      return `<div class="panel" style="${style}"><div class="title">${p.title} (states are evaluated by CloudWatch, not here)</div>`
        + p.alarms!.map(a => `<span class="alarm">${alarmName(a)}</span>`).join('') + '</div>';
    }
    const withData = p.series.filter(s => s.points.length > 0);
    const legend = p.series.map((s, i) => `<span style="color:${COLORS[i % COLORS.length]}">&#9632;</span><span>${s.label}${s.right ? ' (right)' : ''}`
      + `${s.points.length ? `: ${+s.points[s.points.length - 1][1].toFixed(2)}` : ''}</span>`).join('');
    const graph = withData.length
      ? svgGraph(p.series, p.width * unit.w - 22, p.height * unit.h - 62, from, to)
      : `<div class="nodata">${p.fromAws ? 'no data here: AWS itself publishes these (RDS, ElastiCache, the load balancer)' : `no data in the last ${minutes} minutes`}</div>`;
    return `<div class="panel" style="${style}"><div class="title">${p.title}</div>${graph}<div class="legend">${legend}</div></div>`;
  }).join('')}</div></body></html>`;

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 24 * unit.w + 8, height: 900 } });
    await page.setContent(html);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await browser.close();
  }
  const drawn = panels.filter(p => p.kind === 'graph');
  const withData = drawn.filter(p => p.series.some(s => s.points.length)).map(p => p.title);
  return { graphs: drawn.length, withData: withData.length, names: withData };
}
