//! `trigc gen`: a seeded, deterministic generator of realistic NDJSON event streams,
//! for trying rules end to end and for benchmarks. Same arguments, same bytes.
//!
//! The stream matches the shop schema of `rules/events.trig` (default envelope:
//! `type`, `user`, `ts` as RFC 3339 UTC; `.SSS` only when the milliseconds are not 0):
//!
//! ```text
//! VISIT            { page?: string }                       # "/", "/category/shoes", ...
//! VIEW             { product, category?: string, price?: float }
//! ADD_TO_CART      { product: string, price: float, qty?: int }
//! REMOVE_FROM_CART { product: string }
//! PURCHASE         { order: string, amount: float }        # clears the cart
//! WISHLIST_ADD     { product: string }
//! EMAIL_SENT       { campaign: string }                    # campaign sends, in bursts
//! EMAIL_CLICK      { campaign: string }                    # some recipients, minutes to days later
//! PRICE_CHANGE     { product, old_price, new_price }       # keyed by product: no `user`
//! PROFILE_UPDATE   { email?: string, tier?: string }
//! ```
//!
//! The model: customer sessions arrive as a Poisson process (busier in the evening,
//! UTC), spread over about a week of event time whatever `--events` is. Each session
//! picks its customer from a Zipf law (a few very active customers, a long tail),
//! starts with a visit (or an email click), browses, adds to and removes from the
//! cart, sometimes wishes, and sometimes ends with a purchase (carts left behind are
//! what abandoned-cart rules look for). Events within a session are seconds apart;
//! a customer's sessions hours or days apart. Alongside: one email campaign a day
//! (sent in a burst, clicked by some recipients later), occasional price changes
//! (drops more often than rises) and profile updates. Timestamps never decrease.
//!
//! Randomness is PCG-64 (MCG variant) from `rand_pcg`: its output stream is fixed by
//! the algorithm, so a seed means the same bytes across platforms and releases. The
//! few distributions needed (uniform, exponential, Zipf by exact inverse CDF) are
//! written here for the same reason: their results must not change under us.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::gen_shape::{self, Shape};
use crate::time::push_time;

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// How many events to write.
    #[arg(long, default_value_t = 1000)]
    pub events: u64,
    /// How many distinct customers (`u1` .. `uN`, `u1` the most active).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub customers: u32,
    /// How many distinct products (`p1` .. `pN`, `p1` the most popular).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub products: u32,
    /// The random seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time of the first event (RFC 3339).
    #[arg(long, default_value = "2026-01-05T00:00:00Z")]
    pub start: String,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write a rule set of this many generated triggers (over the event types and
    /// products of the stream) instead of events.
    #[arg(long)]
    pub rules: Option<u32>,
    /// With `--rules`: make about one trigger in eight a negated shape (`!=`, `not
    /// (… in […])`); without it the rules are unchanged.
    #[arg(long, requires = "rules")]
    pub negations: bool,
    /// How each event is written: flat NDJSON (what `rules/events.trig` reads),
    /// Segment track calls (fields under `properties`; read by
    /// `benches/fixtures/segment-events.trig`), or CSV with a header row.
    #[arg(long, value_enum, default_value_t = Shape::Flat, conflicts_with = "rules")]
    pub shape: Shape,
}

pub fn generate(args: &GenArgs) -> ExitCode {
    if let Some(n) = args.rules {
        let text = if args.negations {
            super::gen_rules::rule_set_negated(n, args.products, args.seed)
        } else {
            super::gen_rules::rule_set(n, args.products, args.seed)
        };
        let result = match &args.out {
            Some(path) => std::fs::write(path, text),
            None => io::stdout().lock().write_all(text.as_bytes()),
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing rules: {e}");
                ExitCode::from(2)
            }
        };
    }
    let start = match crate::time::parse_time(&args.start) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: --start `{}` is not an RFC 3339 time: {e}",
                args.start
            );
            return ExitCode::from(2);
        }
    };
    let config = GenConfig {
        events: args.events,
        customers: args.customers.max(1),
        products: args.products.max(1),
        seed: args.seed,
        start,
    };
    let result = match &args.out {
        Some(path) => std::fs::File::create(path).and_then(|file| {
            let mut w = io::BufWriter::with_capacity(1 << 20, file);
            write_shaped(&config, args.shape, &mut w)?;
            w.flush()
        }),
        None => {
            let mut w = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
            write_shaped(&config, args.shape, &mut w).and_then(|()| w.flush())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `trigc gen | head` is a normal way to look at a stream.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let target = args
                .out
                .as_ref()
                .map_or("stdout".into(), |p| p.display().to_string());
            eprintln!("error: writing events to {target}: {e}");
            ExitCode::from(2)
        }
    }
}

/// What to generate (the parsed command line).
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub events: u64,
    pub customers: u32,
    pub products: u32,
    pub seed: u64,
    /// Epoch milliseconds of the first possible event.
    pub start: i64,
}

/// Write `config.events` events to `out` in `shape` (a header line first for CSV).
pub fn write_shaped(config: &GenConfig, shape: Shape, out: &mut impl Write) -> io::Result<()> {
    if shape == Shape::Flat {
        return write_stream(config, out);
    }
    if let Some(header) = gen_shape::header(shape) {
        out.write_all(header.as_bytes())?;
    }
    let mut shop = Shop::new(config);
    let (mut line, mut shaped) = (String::with_capacity(256), String::with_capacity(512));
    let mut written = 0;
    while written < config.events {
        let Some(item) = shop.queue.pop() else { break };
        line.clear();
        if shop.step(item, &mut line) {
            written += 1;
            shaped.clear();
            gen_shape::rewrite(shape, line.trim_end(), written, &mut shaped);
            out.write_all(shaped.as_bytes())?;
        }
    }
    Ok(())
}

/// Write `config.events` flat event lines to `out`.
pub fn write_stream(config: &GenConfig, out: &mut impl Write) -> io::Result<()> {
    let mut shop = Shop::new(config);
    let mut line = String::with_capacity(256);
    let mut written = 0;
    while written < config.events {
        let Some(item) = shop.queue.pop() else { break };
        line.clear();
        if shop.step(item, &mut line) {
            out.write_all(line.as_bytes())?;
            written += 1;
        }
    }
    Ok(())
}

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Event time the stream covers, whatever its size: rates scale with `--events`.
const SPAN: i64 = 7 * DAY;
/// Average events per session, used to pace session arrivals.
const EVENTS_PER_SESSION: f64 = 7.0;

/// Product categories (also what `trigc gen --rules` writes rules about).
pub(super) const CATEGORIES: [&str; 8] = [
    "shoes",
    "shirts",
    "bags",
    "hats",
    "electronics",
    "books",
    "toys",
    "home",
];
const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
/// Email campaigns (also what `trigc gen --rules` writes rules about).
pub(super) const CAMPAIGNS: [&str; 6] = [
    "winter-sale",
    "new-arrivals",
    "weekly-picks",
    "flash-deal",
    "comeback",
    "vip",
];

/// Something due at `at`; `seq` breaks ties in creation order so the output is
/// deterministic.
#[derive(Debug)]
struct Scheduled {
    at: i64,
    seq: u64,
    task: Task,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug)]
enum Task {
    /// The next session starts (and the one after is scheduled).
    SessionArrival,
    /// The next step of a customer's session.
    Session(Session),
    /// The day's campaign starts sending.
    Campaign,
    /// One send of a campaign; the rest follow.
    Send {
        campaign: u32,
        recipients: Vec<u32>,
    },
    Click {
        customer: u32,
        campaign: u32,
    },
    PriceChange,
}

#[derive(Debug)]
struct Session {
    customer: u32,
    steps_left: u32,
    /// The product the customer looks at (adds go to what was viewed).
    viewing: Option<u32>,
}

#[derive(Clone, Debug, Default)]
struct Customer {
    in_session: bool,
    cart: Vec<u32>,
    wishlist: Vec<u32>,
    has_profile: bool,
    /// Campaign emails not yet clicked.
    unclicked: Vec<u32>,
}

struct Shop {
    rng: Pcg64Mcg,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    customer_law: Zipf,
    product_law: Zipf,
    customers: Vec<Customer>,
    /// Current prices in cents, and the list prices they move around.
    prices: Vec<u32>,
    list_prices: Vec<u32>,
    orders: u64,
    campaigns: u32,
    session_gap: f64,
    price_gap: f64,
    /// Recipients per daily campaign: a tenth of the customers, but email events stay
    /// around 5% of the stream.
    campaign_size: usize,
}

impl Shop {
    fn new(config: &GenConfig) -> Shop {
        let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
        let events = config.events.max(1) as f64;
        let prices: Vec<u32> = (0..config.products)
            .map(|_| {
                // Log-uniform from 5 to 500, ending in .99 (cents).
                let dollars = (5.0_f64.ln() + unit(&mut rng) * 100.0_f64.ln()).exp();
                (dollars.floor() as u32).max(1) * 100 + 99
            })
            .collect();
        let mut shop = Shop {
            rng,
            queue: BinaryHeap::new(),
            seq: 0,
            customer_law: Zipf::new(config.customers, 1.0),
            product_law: Zipf::new(config.products, 0.9),
            customers: vec![Customer::default(); config.customers as usize],
            list_prices: prices.clone(),
            prices,
            orders: 0,
            campaigns: 0,
            session_gap: SPAN as f64 / (events / EVENTS_PER_SESSION),
            // About one price change per 1,000 events.
            price_gap: SPAN as f64 / (events / 1000.0).max(1.0),
            campaign_size: ((config.customers / 10) as usize)
                .min((events * 0.05 / 7.0) as usize)
                .max(1),
        };
        shop.schedule(config.start, Task::SessionArrival);
        let first_campaign = config.start + 9 * HOUR + shop.uniform(0, HOUR);
        shop.schedule(first_campaign, Task::Campaign);
        let first_price = config.start + shop.exponential(shop.price_gap);
        shop.schedule(first_price, Task::PriceChange);
        shop
    }

    fn schedule(&mut self, at: i64, task: Task) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            task,
        });
    }

    fn uniform(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (unit(&mut self.rng) * (hi - lo) as f64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        unit(&mut self.rng) < p
    }

    fn exponential(&mut self, mean: f64) -> i64 {
        (-mean * (1.0 - unit(&mut self.rng)).ln()) as i64
    }

    fn product(&mut self) -> u32 {
        let u = unit(&mut self.rng);
        self.product_law.sample(u)
    }

    fn price(&self, product: u32) -> u32 {
        self.prices.get(product as usize).copied().unwrap_or(999)
    }

    /// Run one due task; append the event line it makes (if any) to `line`.
    fn step(&mut self, item: Scheduled, line: &mut String) -> bool {
        let now = item.at;
        match item.task {
            Task::SessionArrival => {
                let next = now + self.evening_gap(now);
                self.schedule(next, Task::SessionArrival);
                self.start_session(now, line)
            }
            Task::Session(session) => self.session_step(now, session, line),
            Task::Campaign => {
                self.start_campaign(now);
                false
            }
            Task::Send {
                campaign,
                mut recipients,
            } => {
                let Some(customer) = recipients.pop() else {
                    return false;
                };
                if !recipients.is_empty() {
                    let next = now + self.uniform(50, 400);
                    self.schedule(
                        next,
                        Task::Send {
                            campaign,
                            recipients,
                        },
                    );
                }
                if let Some(c) = self.customers.get_mut(customer as usize) {
                    c.unclicked.push(campaign);
                }
                if self.chance(0.3) {
                    // Most clicks come within hours; some after the usual 48h reminder.
                    let delay = if self.chance(0.8) {
                        self.exponential(3.0 * HOUR as f64)
                    } else {
                        self.uniform(48 * HOUR, 96 * HOUR)
                    };
                    self.schedule(now + MINUTE + delay, Task::Click { customer, campaign });
                }
                envelope(line, "EMAIL_SENT", customer, now);
                let _ = write!(line, r#","campaign":"{}"}}"#, campaign_name(campaign));
                line.push('\n');
                true
            }
            Task::Click { customer, campaign } => {
                if let Some(c) = self.customers.get_mut(customer as usize) {
                    c.unclicked.retain(|&k| k != campaign);
                }
                envelope(line, "EMAIL_CLICK", customer, now);
                let _ = writeln!(line, r#","campaign":"{}"}}"#, campaign_name(campaign));
                true
            }
            Task::PriceChange => {
                let next = now + self.exponential(self.price_gap).max(SECOND);
                self.schedule(next, Task::PriceChange);
                self.price_change(now, line);
                true
            }
        }
    }

    /// A gap to the next session arrival: exponential, thinned by time of day so
    /// evenings (UTC) are busier than nights.
    fn evening_gap(&mut self, now: i64) -> i64 {
        let mut at = now;
        loop {
            // Candidates at the peak rate (1.0), kept with the hour's relative rate.
            at += self.exponential(self.session_gap * 0.55).max(1);
            let hour = at.rem_euclid(DAY) / HOUR;
            let rate = match hour {
                0..=5 => 0.2,
                6..=11 => 0.5,
                12..=17 => 0.7,
                _ => 1.0,
            };
            if self.chance(rate) {
                return at - now;
            }
        }
    }

    fn start_session(&mut self, now: i64, line: &mut String) -> bool {
        // A busy customer already in a session does not start another: try others.
        let mut customer = None;
        for _ in 0..4 {
            let u = unit(&mut self.rng);
            let c = self.customer_law.sample(u);
            if self
                .customers
                .get(c as usize)
                .is_some_and(|c| !c.in_session)
            {
                customer = Some(c);
                break;
            }
        }
        let Some(customer) = customer else {
            return false;
        };
        let steps_left = 1 + self.exponential(5.0) as u32;
        let first_time = !self
            .customers
            .get(customer as usize)
            .is_some_and(|c| c.has_profile);
        let clicked = self
            .customers
            .get(customer as usize)
            .and_then(|c| c.unclicked.last().copied());
        if let Some(c) = self.customers.get_mut(customer as usize) {
            c.in_session = true;
        }
        let session = Session {
            customer,
            steps_left,
            viewing: None,
        };
        let next = now + self.uniform(2 * SECOND, 40 * SECOND);
        self.schedule(next, Task::Session(session));

        if (first_time && self.chance(0.4)) || self.chance(0.02) {
            self.profile_update(now, customer, line);
            return true;
        }
        if let Some(campaign) = clicked
            && self.chance(0.15)
        {
            if let Some(c) = self.customers.get_mut(customer as usize) {
                c.unclicked.retain(|&k| k != campaign);
            }
            envelope(line, "EMAIL_CLICK", customer, now);
            let _ = writeln!(line, r#","campaign":"{}"}}"#, campaign_name(campaign));
            return true;
        }
        self.visit(now, customer, line);
        true
    }

    fn visit(&mut self, now: i64, customer: u32, line: &mut String) {
        envelope(line, "VISIT", customer, now);
        if self.chance(0.8) {
            let page = match self.uniform(0, 4) {
                0 => "\"/\"".to_owned(),
                1 => format!("\"/category/{}\"", category(self.product())),
                2 => format!("\"/product/p{}\"", self.product() + 1),
                _ => "\"/cart\"".to_owned(),
            };
            let _ = write!(line, r#","page":{page}"#);
        }
        line.push_str("}\n");
    }

    fn profile_update(&mut self, now: i64, customer: u32, line: &mut String) {
        if let Some(c) = self.customers.get_mut(customer as usize) {
            c.has_profile = true;
        }
        envelope(line, "PROFILE_UPDATE", customer, now);
        let email = self.chance(0.75);
        if email {
            let _ = write!(line, r#","email":"u{}@example.com""#, customer + 1);
        }
        if !email || self.chance(0.5) {
            // Active customers (low ranks) tend to have the higher tiers.
            let top = if customer < 20 { 4 } else { 3 };
            let tier = self.uniform(0, top) as usize;
            let _ = write!(
                line,
                r#","tier":"{}""#,
                TIERS.get(tier).unwrap_or(&"bronze")
            );
        }
        line.push_str("}\n");
    }

    fn session_step(&mut self, now: i64, mut session: Session, line: &mut String) -> bool {
        let customer = session.customer;
        let (cart_len, wished) = self
            .customers
            .get(customer as usize)
            .map_or((0, 0), |c| (c.cart.len(), c.wishlist.len()));
        if session.steps_left == 0 {
            if let Some(c) = self.customers.get_mut(customer as usize) {
                c.in_session = false;
            }
            // The end: a purchase, or the cart is left behind.
            if cart_len > 0 && self.chance(0.4) {
                self.purchase(now, customer, line);
                return true;
            }
            return false;
        }
        session.steps_left -= 1;
        let roll = unit(&mut self.rng);
        let viewing = session.viewing;
        if roll < 0.22 && viewing.is_some() {
            let product = viewing.unwrap_or(0);
            let price = self.price(product);
            let qty = if self.chance(0.3) {
                None
            } else if self.chance(0.85) {
                Some(1)
            } else {
                Some(self.uniform(2, 5))
            };
            if let Some(c) = self.customers.get_mut(customer as usize) {
                c.cart.push(product);
            }
            envelope(line, "ADD_TO_CART", customer, now);
            let _ = write!(
                line,
                r#","product":"p{}","price":{}"#,
                product + 1,
                Money(price)
            );
            if let Some(q) = qty {
                let _ = write!(line, r#","qty":{q}"#);
            }
            line.push_str("}\n");
        } else if roll < 0.30 && cart_len > 0 {
            let i = self.uniform(0, cart_len as i64) as usize;
            let product = self
                .customers
                .get_mut(customer as usize)
                .and_then(|c| (i < c.cart.len()).then(|| c.cart.swap_remove(i)));
            envelope(line, "REMOVE_FROM_CART", customer, now);
            let _ = writeln!(line, r#","product":"p{}"}}"#, product.unwrap_or(0) + 1);
        } else if roll < 0.35 && viewing.is_some() && wished < 50 {
            let product = viewing.unwrap_or(0);
            if let Some(c) = self.customers.get_mut(customer as usize)
                && !c.wishlist.contains(&product)
            {
                c.wishlist.push(product);
            }
            envelope(line, "WISHLIST_ADD", customer, now);
            let _ = writeln!(line, r#","product":"p{}"}}"#, product + 1);
        } else if roll < 0.40 {
            self.visit(now, customer, line);
        } else {
            let product = self.product();
            session.viewing = Some(product);
            let price = self.price(product);
            envelope(line, "VIEW", customer, now);
            let _ = write!(line, r#","product":"p{}""#, product + 1);
            if self.chance(0.9) {
                let _ = write!(line, r#","category":"{}""#, category(product));
            }
            if self.chance(0.7) {
                let _ = write!(line, r#","price":{}"#, Money(price));
            }
            line.push_str("}\n");
        }
        let next = now + self.uniform(3 * SECOND, 90 * SECOND);
        self.schedule(next, Task::Session(session));
        true
    }

    fn purchase(&mut self, now: i64, customer: u32, line: &mut String) {
        let cart = self
            .customers
            .get_mut(customer as usize)
            .map(|c| std::mem::take(&mut c.cart));
        let amount: u64 = cart
            .unwrap_or_default()
            .iter()
            .map(|&p| u64::from(self.price(p)))
            .sum();
        self.orders += 1;
        envelope(line, "PURCHASE", customer, now);
        let _ = writeln!(
            line,
            r#","order":"o{}","amount":{}}}"#,
            self.orders,
            Money(amount)
        );
    }

    fn start_campaign(&mut self, now: i64) {
        self.campaigns += 1;
        let campaign = self.campaigns;
        let n = self.customers.len();
        let mut recipients: Vec<u32> = (0..self.campaign_size)
            .map(|_| self.uniform(0, n as i64) as u32)
            .collect();
        recipients.sort_unstable();
        recipients.dedup();
        // Pop from the end: reverse so sends go out in customer order.
        recipients.reverse();
        self.schedule(
            now,
            Task::Send {
                campaign,
                recipients,
            },
        );
        let tomorrow = now + DAY + self.uniform(-HOUR, HOUR);
        self.schedule(tomorrow, Task::Campaign);
    }

    fn price_change(&mut self, now: i64, line: &mut String) {
        // Any product, not just popular ones: pricing is the catalogue's business.
        let product = self.uniform(0, self.prices.len() as i64) as u32;
        let old = self.price(product);
        let list = self
            .list_prices
            .get(product as usize)
            .copied()
            .unwrap_or(old);
        // Mostly markdowns of 5-40%; otherwise (and always once a price has fallen
        // below 60% of list) the sale ends and the price goes back up toward list.
        let new = if self.chance(0.7) && f64::from(old) >= 0.6 * f64::from(list) {
            let cut = 0.05 + 0.35 * unit(&mut self.rng);
            (f64::from(old) * (1.0 - cut)).round() as u32
        } else {
            let back = 0.3 + 0.7 * unit(&mut self.rng);
            old + ((f64::from(list.saturating_sub(old)) * back).round() as u32).max(list / 20)
        };
        let new = new.max(99);
        if let Some(p) = self.prices.get_mut(product as usize) {
            *p = new;
        }
        line.push_str(r#"{"type":"PRICE_CHANGE","ts":""#);
        push_time(line, now);
        let _ = writeln!(
            line,
            r#"","product":"p{}","old_price":{},"new_price":{}}}"#,
            product + 1,
            Money(old),
            Money(new)
        );
    }
}

/// `{"type":"T","user":"uN","ts":"..."` (the object is left open for the fields).
fn envelope(line: &mut String, kind: &str, customer: u32, at: i64) {
    let _ = write!(
        line,
        r#"{{"type":"{kind}","user":"u{}","ts":""#,
        customer + 1
    );
    push_time(line, at);
    line.push('"');
}

fn category(product: u32) -> &'static str {
    // A fixed, scattered assignment so neighbouring ids differ.
    let i = (product.wrapping_mul(2_654_435_761) >> 29) as usize;
    CATEGORIES.get(i % CATEGORIES.len()).unwrap_or(&"home")
}

fn campaign_name(campaign: u32) -> String {
    let name = CAMPAIGNS
        .get(campaign as usize % CAMPAIGNS.len())
        .unwrap_or(&"news");
    format!("c{campaign}-{name}")
}

/// Cents, written as a JSON number with two decimals.
struct Money<T>(T);

impl<T: Into<u64> + Copy> std::fmt::Display for Money<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cents: u64 = self.0.into();
        write!(f, "{}.{:02}", cents / 100, cents % 100)
    }
}

/// A uniform float in [0, 1) from the top 53 bits.
fn unit(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Zipf law over ranks `0..n` (rank 0 most likely), weight `1 / (rank+1)^s`, sampled
/// by exact inverse CDF: a binary search in the cumulative weights.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: u32, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|k| {
                total += 1.0 / f64::from(k).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, u: f64) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = u * total;
        let i = self.cumulative.partition_point(|&c| c <= target);
        u32::try_from(i.min(self.cumulative.len().saturating_sub(1))).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(events: u64, seed: u64) -> String {
        let config = GenConfig {
            events,
            customers: 50,
            products: 20,
            seed,
            start: 1_767_571_200_000,
        };
        let mut out = Vec::new();
        write_stream(&config, &mut out).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(stream(500, 7), stream(500, 7));
        assert_ne!(stream(500, 7), stream(500, 8));
        assert_eq!(stream(500, 7).lines().count(), 500);
    }

    #[test]
    fn lines_are_json_objects_in_time_order() {
        let mut last = i64::MIN;
        let mut kinds = std::collections::BTreeSet::new();
        for line in stream(3000, 1).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let kind = v["type"].as_str().unwrap_or("?").to_owned();
            let ts = crate::time::parse_time(v["ts"].as_str().unwrap_or("")).unwrap_or(i64::MIN);
            assert!(ts >= last, "time went back at {line}");
            assert_eq!(v.get("user").is_none(), kind == "PRICE_CHANGE", "{line}");
            last = ts;
            kinds.insert(kind);
        }
        assert_eq!(kinds.len(), 10, "every event type appears: {kinds:?}");
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let z = Zipf::new(100, 1.0);
        assert_eq!(z.sample(0.0), 0);
        assert_eq!(z.sample(0.999_999), 99);
        assert!(z.sample(0.1) < z.sample(0.9));
    }
}
