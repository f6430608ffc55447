//! `trigc check` on a generated program of 1,000 triggers: parse + type-check + lower.
//! Run: `cargo bench --bench check`.

use trigc::syntax::SourceMap;

fn main() {
    divan::main();
}

/// A realistic program: the shared declarations plus `n` triggers cycling through
/// the shapes users write (waits with unless, guards with aggregates, fan-out-free
/// payloads, multi-step).
pub fn program(n: usize) -> String {
    let mut src = String::from(
        "event ADD_TO_CART { product: string, price: float, qty: int? }\n\
         event REMOVE_FROM_CART { product: string }\n\
         event PURCHASE { order: string, amount: float }\n\
         event VISIT { page: string? }\n\
         event EMAIL_SENT { campaign: string }\n\
         event EMAIL_CLICK { campaign: string }\n\
         profile event PROFILE_UPDATE { email: string?, tier: string? }\n\
         state cart: set<string> {\n  ADD_TO_CART -> insert(product)\n  REMOVE_FROM_CART -> remove(product)\n  PURCHASE -> clear()\n}\n",
    );
    for i in 0..n {
        let t = match i % 4 {
            0 => format!(
                "trigger cart_{i} \"cart {i}\"\n  priority {p}\n  cooldown 24h\n  on ADD_TO_CART or REMOVE_FROM_CART\n  wait {w}m unless PURCHASE\n  if not cart.empty and len(cart) >= 1\n  then webhook \"https://hooks.example.com/cart/{i}\" with {{ items: cart, email: profile.email, n: {i} }}\n",
                p = 1 + i % 100,
                w = 5 + i % 55
            ),
            1 => format!(
                "trigger spend_{i}\n  limit 3 per 7d\n  on PURCHASE where amount > {a}.5 and lower(order) != \"x{i}\"\n  if count(PURCHASE within 30d) >= 2 or sum(PURCHASE.amount within 30d) > 1000\n  then email \"big-{i}\" with {{ amount: amount, total: sum(PURCHASE.amount within 30d) }}\n",
                a = 100 + i
            ),
            2 => format!(
                "trigger follow_{i}\n  cooldown 2d\n  reentry parallel\n  on EMAIL_SENT as sent\n  wait 48h unless EMAIL_CLICK where campaign == sent.campaign\n  then email \"remind-{i}\" with {{ campaign: sent.campaign }}\n  wait 24h unless EMAIL_CLICK where campaign == sent.campaign\n  if now - sent.ts >= 72h\n  then emit \"second-{i}\"\n"
            ),
            _ => format!(
                "trigger visit_{i}\n  cooldown 30d\n  exit on PURCHASE\n  on VISIT where page ?? \"\" != \"/checkout\"\n  wait 30d\n  if not exists(VISIT within 30d) and (profile.tier ?? \"basic\") == \"gold\"\n  then email \"miss-{i}\" to profile.email and set profile.tier = \"lapsed\"\n"
            ),
        };
        src.push_str(&t);
    }
    src
}

#[divan::bench(args = [1000])]
fn check_triggers(bencher: divan::Bencher, n: usize) {
    let text = program(n);
    bencher.bench(|| {
        let mut sources = SourceMap::default();
        sources.add("bench.trig", text.as_str());
        let compiled = trigc::compile(divan::black_box(&sources));
        assert!(compiled.program.is_some(), "the generated program checks");
        compiled.diagnostics.len()
    });
}
