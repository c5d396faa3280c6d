// Shared by every page: language, the token, calls to /api/v1, role checks, small helpers.
const WORDS = {
  zh: {
    lang: "English", logout: "退出", login: "登录", token: "访问令牌", tokenHint: "请输入管理员发给您的令牌",
    badToken: "令牌无效或已撤销", forbidden: "无权限：此页面不属于您的角色", forbiddenData: "无权限查看这些数据",
    home: "首页", board: "调度看板", hotline: "热线派单", plans: "规划工作台", phone: "我的工单",
    date: "日期", map: "地图", timeline: "时间轴", queue: "工单列表", details: "详情", history: "记录",
    all: "全部", open: "未完成", late: "迟到", refused: "已拒单", flagged: "待复核", filter: "筛选",
    travel: "路途", waiting: "等待", service: "服务", rest: "休息", now: "现在",
    caregiver: "护理员", household: "住户", address: "地址", window: "时间窗", notes: "备注",
    status: "状态", start: "开始", end: "结束", loading: "加载中…", none: "无",
    search: "查找住户", searchHint: "姓名、电话或地址", newCaller: "新来电人", name: "姓名",
    phoneNo: "电话", lat: "纬度", lon: "经度", coords: "坐标系", urgency: "紧急程度",
    normal: "普通", urgent: "紧急", emergency: "紧急救助", ask: "查询方案", options: "可选方案",
    eta: "到达", addedTravel: "增加路程(分)", moved: "顺延的工单", preview: "预览", confirm: "确认派单",
    changed: "路线已变更，已重新查询", confirmed: "已派单", absence: "护理员请假", absent: "登记请假",
    redispatch: "拒单改派", redispatchBtn: "改派", chosen: "已选", reassigned: "已改派", notKept: "未能保留",
    plansList: "方案与版本", newJob: "新建规划 / 假设分析", solver: "算法", timeLimit: "时限(秒)",
    scaleDemand: "需求倍数", addCaregivers: "增加护理员(站点:人数)", removeCaregivers: "减少护理员(编号)",
    startJob: "开始规划", cancel: "取消", progress: "进度", compare: "比较", publish: "发布",
    published: "已发布", kpi: "指标", difference: "差值", perStation: "各站点差异", visits: "上门次数",
    circle: "15分钟服务圈", showCircle: "显示服务圈", settings: "地图设置", tiles: "瓦片地址(留空=离线)",
    tileCoords: "瓦片坐标系", save: "保存", accept: "接单", refuse: "拒单", reason: "拒单原因",
    checkIn: "签到", checkOut: "签退", navigate: "导航", retrying: "网络异常，重试中…",
    done: "完成", today: "今日工单", version: "版本", week: "周", id: "编号",
    noPlan: "当日无已发布方案", error: "出错了", station: "站点",
    created: "已创建", dispatched: "已派单", accepted: "已接单", checked_in: "已签到",
    checked_out: "已完成", cancelled: "已取消", running: "运行中", draft: "草稿", failed: "失败",
    queued: "排队中", welcome: "请选择页面", stationNames: "站点", selectPlan: "选择方案",

    ledger: "探访台账", month: "月份", monthRate: "月探访率", district: "全区", street: "街道", share: "探访率",
    met: "已访/户数", misses: "未探访及原因", households: "住户台账", klass: "类别", lastVisit: "上次探访",
    by: "探访人", nextDue: "下次应访", overdueDays: "逾期天数", onTime: "按时", overdue: "逾期", missed: "本月未访",
    notInProgramme: "不在探访计划内", show: "查询", settlement: "结算", planned: "计划金额", subsidy: "政府补贴",
    family: "家庭自付", payable: "应付", withheld: "扣减", lines: "明细条数", totals: "合计", yuan: "元",
    download: "下载Excel", downloaded: "已下载", level: "层级", groupName: "名称",

    batches: "方案对比", newBatch: "新建方案对比", batchName: "名称", addEach: "每站增加护理员(0至N人)", demandFactors: "需求倍数(逗号分隔)",
    startBatch: "开始对比", started: "已开始", batchList: "方案对比列表", createdAt: "创建时间", settingsShort: "时限·引擎",
    batchHint: "每个组合是一个方案(基线在前)，并行求解；每个方案的计划可在规划工作台比较或发布。",
    variant: "方案", variants: "各方案进度", comparisonTable: "对比表", diffToBaseline: "每项数值后为与基线的差值",
    noRowsYet: "尚无完成的方案", downloadCsv: "下载CSV", downloadXlsx: "下载Excel", caregivers: "护理员",
    plannedShare: "完成率%", unassigned: "未安排", travelMinutes: "路途(分)", overtimeMinutes: "加班(分)",
    perRequest: "每需求护理员数", utilisation: "利用率%", outside15: "15分钟圈外户数", staffCost: "人力成本(元/周)",
  },
  en: {
    lang: "中文", logout: "Log out", login: "Log in", token: "Access token", tokenHint: "Enter the token your admin gave you",
    badToken: "Invalid or revoked token", forbidden: "Not allowed: this page is not for your role", forbiddenData: "Not allowed to see this data",
    home: "Home", board: "Day board", hotline: "Hotline desk", plans: "Planner's workbench", phone: "My visits",
    date: "Date", map: "Map", timeline: "Timeline", queue: "Work orders", details: "Details", history: "History",
    all: "All", open: "Open", late: "Late", refused: "Refused", flagged: "Flagged", filter: "Filter",
    travel: "Travel", waiting: "Waiting", service: "Service", rest: "Rest", now: "Now",
    caregiver: "Caregiver", household: "Household", address: "Address", window: "Window", notes: "Notes",
    status: "Status", start: "Start", end: "End", loading: "Loading…", none: "None",
    search: "Find household", searchHint: "Name, phone or address", newCaller: "New caller", name: "Name",
    phoneNo: "Phone", lat: "Latitude", lon: "Longitude", coords: "Coordinates", urgency: "Urgency",
    normal: "Normal", urgent: "Urgent", emergency: "Emergency", ask: "Find options", options: "Options",
    eta: "ETA", addedTravel: "Added travel (min)", moved: "Visits that move", preview: "Preview", confirm: "Confirm",
    changed: "The route changed: asked again", confirmed: "Dispatched", absence: "Caregiver absence", absent: "Record absence",
    redispatch: "Re-dispatch refused orders", redispatchBtn: "Re-dispatch", chosen: "Chosen", reassigned: "Reassigned", notKept: "Not kept",
    plansList: "Plans and versions", newJob: "New plan job / what-if", solver: "Solver", timeLimit: "Time limit (s)",
    scaleDemand: "Demand scale", addCaregivers: "Add caregivers (station:count)", removeCaregivers: "Remove caregivers (ids)",
    startJob: "Start job", cancel: "Cancel", progress: "Progress", compare: "Compare", publish: "Publish",
    published: "Published", kpi: "KPI", difference: "Difference", perStation: "Difference per station", visits: "Visits",
    circle: "15-minute circle", showCircle: "Show circle", settings: "Map settings", tiles: "Tile URL (empty = offline)",
    tileCoords: "Tile coordinates", save: "Save", accept: "Accept", refuse: "Refuse", reason: "Reason",
    checkIn: "Check in", checkOut: "Check out", navigate: "Navigate", retrying: "Network problem, retrying…",
    done: "Done", today: "Today's visits", version: "Version", week: "Week", id: "Id",
    noPlan: "No published plan on this day", error: "Error", station: "Station",
    created: "Created", dispatched: "Dispatched", accepted: "Accepted", checked_in: "Checked in",
    checked_out: "Done", cancelled: "Cancelled", running: "Running", draft: "Draft", failed: "Failed",
    queued: "Queued", welcome: "Choose a page", stationNames: "Stations", selectPlan: "Choose a plan",

    ledger: "Visiting ledger", month: "Month", monthRate: "Monthly visit rate", district: "District", street: "Street", share: "Rate",
    met: "Met / households", misses: "Misses and reasons", households: "Households", klass: "Class", lastVisit: "Last visit",
    by: "By", nextDue: "Next due", overdueDays: "Overdue days", onTime: "On time", overdue: "Overdue", missed: "Missed this month",
    notInProgramme: "Not in the programme", show: "Show", settlement: "Settlement", planned: "Planned", subsidy: "Subsidy",
    family: "Family pays", payable: "Payable", withheld: "Withheld", lines: "Lines", totals: "Totals", yuan: "yuan",
    download: "Download Excel", downloaded: "Downloaded", level: "Level", groupName: "Name",

    batches: "Batches", newBatch: "New batch", batchName: "Name", addEach: "Caregivers added at each station (0..N)", demandFactors: "Demand factors (comma-separated)",
    startBatch: "Start batch", started: "Started", batchList: "Batches", createdAt: "Created", settingsShort: "Time limit · engine",
    batchHint: "Every combination is a variant (baseline first), solved in parallel; each variant's plan can be compared or published on the planner's workbench.",
    variant: "Variant", variants: "Variants", comparisonTable: "Comparison", diffToBaseline: "each value followed by its difference to the baseline",
    noRowsYet: "No variant has ended yet", downloadCsv: "Download CSV", downloadXlsx: "Download Excel", caregivers: "Caregivers",
    plannedShare: "Planned %", unassigned: "Unassigned", travelMinutes: "Travel (min)", overtimeMinutes: "Overtime (min)",
    perRequest: "Caregivers per request", utilisation: "Utilisation %", outside15: "Outside 15 min", staffCost: "Staff cost (yuan/week)",
  },
};

export const SERVICES = {
  meal_delivery: ["助餐·送餐", "Meal delivery"], meal_cook: ["助餐·上门做饭", "Cooking at home"],
  cleaning: ["助洁", "Cleaning"], bathing: ["助浴", "Bathing"], bed_bath: ["助浴·卧床", "Bed bath"],
  walking: ["助行·陪同外出", "Walking help"], medical_escort: ["助医·陪诊", "Medical escort"],
  personal_care: ["生活照护", "Personal care"], nursing: ["上门护理", "Home nursing"],
  rehab: ["康复", "Rehabilitation"], welfare_visit: ["巡访关爱", "Welfare visit"], emergency: ["助急", "Emergency help"],
};

export const lang = localStorage.getItem("lang") === "en" ? "en" : "zh";
document.documentElement.lang = lang === "en" ? "en" : "zh-CN";

export function t(key) {
  return WORDS[lang][key] ?? key;
}

export function serviceName(code) {
  const names = SERVICES[code];
  return names ? names[lang === "en" ? 1 : 0] : code;
}

// el("button", {class: "x", onclick: f}, "text", child...)
export function el(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "line", "rect", "circle", "path", "polyline", "text", "image", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function say(message, kind = "info") {
  const box = document.getElementById("status");
  box.textContent = message;
  box.className = kind;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem("token");
}

// A call to /api/v1: JSON in and out; errors raise ApiError with the service's message.
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    let message = data?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 403) message = `${t("forbiddenData")} (${message})`;
    throw new ApiError(response.status, message);
  }
  return data;
}

export function localToday() {
  const now = new Date();
  const shifted = new Date(now.getTime() + (480 + now.getTimezoneOffset()) * 60000);
  return shifted.toISOString().slice(0, 10);
}

export function localMinute() {
  const now = new Date();
  const shifted = new Date(now.getTime() + (480 + now.getTimezoneOffset()) * 60000);
  return shifted.getUTCHours() * 60 + shifted.getUTCMinutes();
}

export function minutes(hhmm) {
  if (!hhmm) return null;
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
}

export function hhmm(m) {
  const h = Math.floor(m / 60);
  return `${String(h).padStart(2, "0")}:${String(Math.round(m % 60)).padStart(2, "0")}`;
}

export const NAV = {
  dispatcher: ["board", "hotline"],
  planner: ["plans", "batches"],
  caregiver: ["phone"],
  admin: ["board", "hotline", "plans", "batches", "phone"],
};

function loginForm(resolve) {
  const main = document.getElementById("main");
  const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true, "aria-label": t("token") });
  const error = el("p", { class: "error", id: "login-error" });
  const form = el("form", { class: "login card" },
    el("h1", {}, t("login")), el("label", { for: "token" }, t("token")), input,
    el("p", { class: "hint" }, t("tokenHint")), el("button", { type: "submit", id: "login" }, t("login")), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem("token", input.value.trim());
    try {
      const who = await api("/whoami");
      form.remove();
      resolve(who);
    } catch (exc) {
      sessionStorage.removeItem("token");
      error.textContent = exc.status === 401 ? t("badToken") : exc.message;
    }
  });
  main.append(form);
  input.focus();
}

// Ask for the token once (kept in sessionStorage), check the role against the page's: the
// page's own data is loaded only when it may be. Resolves with the caller or null.
export async function start() {
  const langButton = document.getElementById("lang");
  langButton.textContent = t("lang");
  langButton.addEventListener("click", () => {
    localStorage.setItem("lang", lang === "en" ? "zh" : "en");
    location.reload();
  });
  const logout = document.getElementById("logout");
  logout.textContent = t("logout");
  logout.addEventListener("click", () => {
    sessionStorage.removeItem("token");
    location.href = "/";
  });
  let who = null;
  if (token()) {
    try {
      who = await api("/whoami");
    } catch {
      sessionStorage.removeItem("token");
    }
  }
  if (!who) who = await new Promise((resolve) => loginForm(resolve));
  logout.hidden = false;
  document.getElementById("who").textContent = `${who.name} · ${who.role}`;
  const nav = document.getElementById("nav");
  nav.append(el("a", { href: "/" }, t("home")));
  for (const page of NAV[who.role] ?? []) nav.append(el("a", { href: `/${page}` }, t(page)));
  const roles = document.body.dataset.roles.split(",");
  if (who.role !== "admin" && !roles.includes(who.role)) {
    document.getElementById("main").append(el("p", { class: "refused card", id: "refused", role: "alert" }, t("forbidden")));
    document.body.dataset.ready = "refused";
    return null;
  }
  return who;
}

export function showError(exc) {
  say(`${t("error")}: ${exc.message}`, "error");
}
