package demo

// Names and course contents in Chilean Spanish. Accents and ñ are on
// purpose: they must survive every engine and SENCE's 50-character limit
// must be cut by characters, not bytes.

var firstNames = []string{
	"María José", "Camila", "Valentina", "Javiera", "Constanza", "Catalina", "Fernanda", "Francisca",
	"Daniela", "Antonia", "Sofía", "Ignacia", "Bárbara", "Macarena", "Paulina", "Carolina", "Verónica",
	"Marcela", "Ximena", "Lorena", "Gloria", "Inés", "Angélica", "Mónica",
	"Juan Pablo", "José", "Matías", "Benjamín", "Sebastián", "Nicolás", "Diego", "Felipe", "Cristóbal",
	"Tomás", "Joaquín", "Ignacio", "Vicente", "Martín", "Andrés", "Rodrigo", "Héctor", "Óscar",
	"Raúl", "Patricio", "Germán", "Iván", "Luis Alberto", "Claudio",
}

var lastNames = []string{
	"González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez", "Sepúlveda",
	"Morales", "Rodríguez", "López", "Fuentes", "Hernández", "Torres", "Araya", "Flores", "Espinoza",
	"Valenzuela", "Castillo", "Tapia", "Reyes", "Gutiérrez", "Castro", "Pizarro", "Álvarez", "Vásquez",
	"Sánchez", "Fernández", "Ramírez", "Carrasco", "Gómez", "Cortés", "Herrera", "Núñez", "Jara",
	"Vergara", "Rivera", "Figueroa", "Riquelme", "García", "Miranda", "Bravo", "Vera", "Molina",
	"Vega", "Campos", "Sandoval", "Orellana", "Cárdenas", "Olivares", "Alarcón", "Gallardo", "Ortiz",
	"Garrido", "Salazar", "Guzmán", "Henríquez", "Saavedra", "Navarro", "Aguilera", "Parra", "Romero",
	"Aravena", "Vargas", "Vidal", "Quezada", "Ibáñez", "Peña", "Cáceres", "Zúñiga", "Acuña", "Bustos",
}

var cities = []string{
	"Santiago", "Valparaíso", "Viña del Mar", "Concepción", "La Serena", "Antofagasta", "Temuco",
	"Rancagua", "Talca", "Arica", "Iquique", "Puerto Montt", "Chillán", "Calama", "Copiapó",
	"Osorno", "Valdivia", "Punta Arenas", "Los Ángeles", "Curicó",
}

// topic is the content of one course: its full name and its modules'
// titles. Titles are reused when a course has more modules than listed.
type topic struct {
	fullname string
	modules  []string
}

var topics = []topic{
	{"Prevención de riesgos en faenas y obras", []string{
		"Fundamentos de prevención", "Identificación de peligros y evaluación de riesgos",
		"Equipos de protección personal", "Investigación de accidentes", "Material complementario",
		"Plan de emergencia y evacuación"}},
	{"Atención de clientes y calidad de servicio", []string{
		"Fundamentos del servicio", "Comunicación efectiva con el cliente", "Manejo de reclamos y situaciones difíciles",
		"Protocolos de atención presencial y remota", "Fidelización y mejora continua"}},
	{"Excel intermedio para la gestión administrativa", []string{
		"Fórmulas y funciones", "Tablas dinámicas", "Gráficos y visualización de datos",
		"Validación y protección de datos", "Automatización con macros"}},
	{"Manipulación higiénica de alimentos", []string{
		"Normativa sanitaria vigente", "Contaminación de los alimentos", "Higiene del manipulador",
		"Limpieza y sanitización", "Control de temperaturas y cadena de frío"}},
	{"Liderazgo y trabajo en equipo", []string{
		"Estilos de liderazgo", "Comunicación asertiva", "Gestión de conflictos",
		"Delegación y seguimiento", "Motivación y clima laboral"}},
	{"Primeros auxilios en el lugar de trabajo", []string{
		"Evaluación de la escena y del lesionado", "Reanimación cardiopulmonar básica",
		"Heridas, quemaduras y fracturas", "Intoxicaciones y emergencias médicas", "Traslado de lesionados"}},
	{"Gestión de bodega e inventarios", []string{
		"Recepción y almacenamiento", "Control de existencias", "Métodos de valorización",
		"Despacho y distribución", "Indicadores de gestión logística"}},
	{"Herramientas digitales para el emprendimiento", []string{
		"Presencia en redes sociales", "Comercio electrónico", "Facturación electrónica en el SII",
		"Marketing digital básico", "Atención al cliente por canales digitales"}},
}

// longActivityName is longer than SENCE's 50 characters and accented.
const longActivityName = "Evaluación diagnóstica de conocimientos previos sobre prevención de riesgos"
