package repogen

// vocabulary is the fixed word list of generated backgrounds: plain lowercase
// English words without YAML-significant characters.
var vocabulary = [...]string{
	"able", "about", "account", "across", "active", "actually", "address", "adult", "advice", "afraid",
	"after", "afternoon", "again", "against", "agent", "ago", "agree", "ahead", "allergy", "almost",
	"alone", "along", "already", "always", "angry", "annual", "another", "answer", "anxious", "anyone",
	"app", "appointment", "approach", "area", "argue", "around", "arrive", "article", "ask", "asleep",
	"assistant", "attention", "aunt", "available", "avoid", "away", "baby", "back", "bad", "balance",
	"bank", "basic", "battery", "because", "bed", "before", "begin", "behavior", "believe", "benefit",
	"best", "better", "between", "bill", "birthday", "blood", "board", "body", "book", "booking",
	"bored", "borrow", "boss", "both", "box", "brief", "bring", "brother", "budget", "build",
	"busy", "buy", "cafe", "call", "calm", "camera", "cancel", "card", "care", "careful",
	"carry", "case", "cash", "chat", "cheap", "check", "child", "choose", "city", "claim",
	"class", "clear", "clinic", "close", "clothes", "coffee", "cold", "colleague", "college", "comfortable",
	"common", "company", "complain", "complete", "computer", "concern", "confused", "contact", "continue", "control",
	"cook", "cost", "could", "country", "course", "cousin", "coverage", "credit", "curious", "customer",
	"daily", "data", "daughter", "day", "deadline", "decide", "delay", "delivery", "dentist", "depend",
	"describe", "detail", "device", "different", "difficult", "dinner", "direct", "discount", "doctor", "document",
	"dog", "done", "door", "double", "doubt", "down", "dream", "drive", "during", "early",
	"easy", "email", "employee", "end", "energy", "enjoy", "enough", "error", "evening", "event",
	"every", "exactly", "example", "expect", "expensive", "experience", "explain", "family", "fast", "father",
	"fee", "feel", "few", "file", "finally", "find", "fine", "first", "fix", "flight",
	"follow", "food", "forget", "form", "friend", "friendly", "frustrated", "full", "future", "garden",
	"gentle", "gift", "give", "glad", "goal", "good", "grateful", "group", "guess", "habit",
	"half", "happy", "hard", "health", "hear", "help", "hesitant", "history", "hold", "holiday",
	"home", "honest", "hope", "hospital", "hotel", "hour", "house", "hurry", "idea", "important",
	"impatient", "insurance", "interest", "invoice", "issue", "job", "journey", "keep", "kind", "kitchen",
	"know", "language", "laptop", "large", "late", "later", "learn", "leave", "letter", "library",
	"light", "likes", "limit", "list", "listen", "little", "local", "long", "look", "lost",
	"loyal", "lunch", "manager", "many", "market", "meal", "medicine", "meeting", "member", "message",
	"method", "minute", "mistake", "mobile", "moment", "money", "month", "morning", "mother", "move",
	"nervous", "network", "never", "new", "news", "next", "nice", "night", "note", "notice",
	"number", "nurse", "offer", "office", "often", "old", "online", "open", "option", "order",
	"other", "outside", "owner", "package", "pain", "paper", "parent", "park", "password", "patient",
	"pay", "payment", "people", "perhaps", "person", "phone", "picture", "plan", "pleasant", "plenty",
	"polite", "practice", "prefer", "prescription", "price", "private", "problem", "process", "product", "profile",
	"promise", "question", "quick", "quiet", "quite", "rather", "read", "ready", "reason", "receipt",
	"recent", "refund", "relative", "relaxed", "remember", "remote", "rent", "repeat", "reply", "report",
	"request", "retired", "return", "review", "room", "routine", "rude", "rule", "safe", "salary",
	"same", "save", "schedule", "school", "screen", "search", "season", "second", "secure", "send",
	"service", "settings", "share", "shop", "short", "shy", "sick", "simple", "sister", "skeptical",
	"slow", "small", "smart", "son", "soon", "sorry", "speak", "special", "spend", "staff",
	"start", "station", "still", "store", "story", "student", "subscription", "support", "sure", "symptom",
	"system", "table", "talk", "teacher", "team", "text", "thank", "therapy", "ticket", "tired",
	"today", "together", "tomorrow", "train", "travel", "trust", "try", "type", "uncle", "understand",
	"update", "upset", "usual", "vacation", "visit", "voice", "wait", "walk", "wallet", "want",
	"warm", "watch", "week", "weekend", "welcome", "while", "wife", "window", "wish", "without",
	"work", "worried", "write", "year", "young",
}

// adjectives end persona names ("Persona 000123 Brave") and start renamed slugs.
var adjectives = [...]string{
	"Brave", "Calm", "Careful", "Cheerful", "Confused", "Curious", "Eager", "Frugal", "Gentle", "Grumpy",
	"Hasty", "Honest", "Hopeful", "Impatient", "Kind", "Loyal", "Nervous", "Patient", "Polite", "Quiet",
	"Skeptical", "Sleepy", "Steady", "Stubborn", "Talkative", "Tired", "Upbeat", "Wary", "Witty", "Worried",
}

// nouns appear in renamed slugs.
var nouns = [...]string{
	"caller", "client", "guest", "learner", "parent", "patient", "renter", "shopper", "student", "traveler",
	"user", "visitor", "worker", "buyer", "member",
}

var roles = [...]string{"patient", "customer", "student", "employee", "tenant", "traveler", "caller", "subscriber"}

var (
	tagCategories   = [...]string{"onboarding", "billing", "support", "scheduling", "refunds", "triage", "account recovery"}
	tagDifficulties = [...]string{"low", "medium", "high"}
	tagChannels     = [...]string{"web chat", "phone", "email", "mobile app"}
	tagExtraKeys    = [...]string{"reviewed", "priority", "owner team", "cohort"}
	tagExtraValues  = [...]string{"yes indeed", "p1", "p2", "growth", "care team", "cohort 7"}
)

// languages and timezones: "" stands for null.
var (
	languages = [...]string{"eng", "spa", "fra", "deu", "jpn", ""}
	timezones = [...]string{"America/New_York", "Europe/Paris", "Asia/Tokyo", "UTC", ""}
)

var (
	userModelNames   = [...]string{"default", "frustrated_v2", "terse", "verbose_explainer", "low_literacy"}
	nonsensitiveKeys = [...]string{"account_tier", "region_code", "loyalty_level", "plan_name", "signup_channel"}
	nonsensitiveVals = [...]string{"gold", "silver", "bronze", "eu_west", "us_east", "basic", "premium", "referral"}
	sensitiveKeys    = [...]string{"api_token", "member_id", "card_last4"}
)

var comments = [...]string{
	"# Reviewed by the conversation design team.",
	"# Keep this persona in sync with the onboarding scripts.",
	"# Synthetic persona: staging data only.",
}

type author struct{ name, email string }

var authors = [...]author{
	{"Alice Anders", "alice@example.com"},
	{"Bob Brown", "bob@example.com"},
	{"Carol Chen", "carol@example.com"},
	{"Dave Diaz", "dave@example.com"},
	{"Erin Evans", "erin@example.com"},
}
